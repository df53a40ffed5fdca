package clock

import (
	"fmt"
	"sync/atomic"
	"time"
)

// lastPacked is the packed (Wall, Logical) of the last representable
// timestamp: Wall MaxWall, Logical 65535.
const lastPacked = ^uint64(0)

// Clock is a hybrid logical clock for one replica. It is safe for concurrent
// use; all methods may be called from any goroutine. A Clock must not be
// copied; use the *Clock returned by New.
//
// The clock's state is the (Wall, Logical) pair of the last timestamp it
// issued or observed, kept packed as Wall<<16 | Logical in one atomic word.
// Packing makes the order of the pair the order of the integer, so a Logical
// overflow carries into Wall by plain addition and the send and receive
// rules of Kulkarni et al. (2014) become, with pt the physical time,
//
//	Now:    (l, c) = max((l, c) + 1, (pt, 0))
//	Update: (l, c) = max(max((l, c), (l_m, c_m)) + 1, (pt, 0))
//
// Case by case this is the paper's rule: if pt is the largest wall, the
// result is (pt, 0); otherwise l is the largest of the walls and c is one
// more than the largest counter among the pairs whose wall is l.
type Clock struct {
	state      atomic.Uint64
	replica    ReplicaID
	physical   Physical
	maxDrift   time.Duration
	maxDriftMs int64
}

// New returns a Clock configured by cfg, or an error wrapping ErrConfig if
// cfg.Validate fails.
func New(cfg Config) (*Clock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Physical == nil {
		cfg.Physical = System()
	}
	c := &Clock{
		replica:    cfg.Replica,
		physical:   cfg.Physical,
		maxDrift:   cfg.MaxDrift,
		maxDriftMs: int64(cfg.MaxDrift / time.Millisecond),
	}
	c.state.Store(cfg.Resume.packed())
	return c, nil
}

// Replica returns the replica id stamped on this clock's timestamps.
func (c *Clock) Replica() ReplicaID { return c.replica }

// MaxDrift returns the configured maximum drift.
func (c *Clock) MaxDrift() time.Duration { return c.maxDrift }

// Last returns the (Wall, Logical) of the last timestamp this clock issued or
// observed, with this clock's Replica. Persist it and pass it as
// Config.Resume after a restart. Before any event it returns Config.Resume's
// Wall and Logical.
func (c *Clock) Last() Timestamp { return unpack(c.state.Load(), c.replica) }

// Now returns a new timestamp for a local or send event. It never fails and
// never allocates. Each call returns a timestamp strictly greater than every
// timestamp previously returned by Now, Config.Resume, and every remote
// accepted by Update, even when physical time goes backwards. Its Wall is at
// least the physical time read during the call.
//
// Now panics only when the timestamp space is exhausted (Wall MaxWall and
// Logical 65535 already issued), which needs a Physical reporting times in
// the year 10889.
func (c *Clock) Now() Timestamp {
	pt := c.readPhysical()
	for {
		old := c.state.Load()
		if old == lastPacked {
			panic("clock: timestamp space exhausted")
		}
		next := max(old+1, pt)
		if c.state.CompareAndSwap(old, next) {
			return unpack(next, c.replica)
		}
	}
}

// Update records the receipt of a remote timestamp. On success the clock is
// past remote, so every later Now returns a timestamp greater than it, and
// Last returns the timestamp of the receive event.
//
// Update returns an error, and leaves the clock exactly as it was, when
//   - remote has a Wall outside [0, MaxWall] or a zero Replica
//     (ErrMalformed);
//   - remote carries this clock's Replica and is greater than Last
//     (ErrReplicaCollision): another replica uses our id;
//   - remote.Wall is more than MaxDrift ahead of physical time read now
//     (a *DriftError, which unwraps to ErrDrift). Drift is measured against
//     physical time, not against the clock, so accepting one remote never
//     lets a later one go further ahead. The same remote is accepted once
//     physical time has caught up. An echo of our own timestamp (our Replica,
//     <= Last) is exempt: it cannot move the clock's Wall, and after a restart
//     whose physical clock is behind Config.Resume it is still ours;
//   - the next timestamp would be past the last representable one
//     (ErrExhausted).
//
// The checks are made in that order.
func (c *Clock) Update(remote Timestamp) error {
	return c.receive(remote, true)
}

// Check reports the error Update(remote) would return now, without changing
// the clock. Since physical time and the clock may move between Check and a
// later Update, Update may still decide differently.
func (c *Clock) Check(remote Timestamp) error {
	return c.receive(remote, false)
}

// receive implements Update (apply true) and Check (apply false).
func (c *Clock) receive(remote Timestamp, apply bool) error {
	if err := remote.Validate(); err != nil {
		return err
	}
	if remote.Replica == 0 {
		return fmt.Errorf("%w: remote timestamp %s has replica id zero", ErrMalformed, remote)
	}
	pt := c.readPhysical()
	m := remote.packed()
	for {
		old := c.state.Load()
		echo := remote.Replica == c.replica
		if echo && m > old {
			return fmt.Errorf("%w: remote %s is after our last timestamp %s",
				ErrReplicaCollision, remote, unpack(old, c.replica))
		}
		if physWall := int64(pt >> 16); !echo && remote.Wall-physWall > c.maxDriftMs {
			return &DriftError{Remote: remote, Physical: physWall, MaxDrift: c.maxDrift}
		}
		high := max(old, m)
		if high == lastPacked {
			return fmt.Errorf("%w: cannot advance past %s", ErrExhausted, remote)
		}
		if !apply {
			return nil
		}
		if c.state.CompareAndSwap(old, max(high+1, pt)) {
			return nil
		}
	}
}

// readPhysical reads physical time, clamps it to [0, MaxWall] and returns it
// packed with Logical 0.
func (c *Clock) readPhysical() uint64 {
	pt := c.physical.NowMillis()
	pt = min(max(pt, 0), MaxWall)
	return uint64(pt) << 16
}
