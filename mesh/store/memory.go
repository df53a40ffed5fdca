package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/syncmesh/syncmesh/clock"
)

// Memory is the in-memory Store, the library default: everything is lost at
// Close or process exit. Writes apply at once (their Ack is already done).
// A Memory is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	closed  bool
	replica clock.ReplicaID
	clock   clock.Timestamp
	snap    Snapshot
	// log holds, per replica, changes sorted by Start with no change
	// containing another, so their Ends ascend too (see insertLog).
	log        map[clock.ReplicaID][]Change
	version    VersionVector
	quarantine []Change
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store with a fresh replica id.
// c.Dir is ignored.
func NewMemory(c Config) (*Memory, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Memory{
		replica: c.newReplicaID(),
		snap:    Snapshot{Version: VersionVector{}, Floor: VersionVector{}},
		log:     map[clock.ReplicaID][]Change{},
		version: VersionVector{},
	}, nil
}

// Load implements Store.
func (m *Memory) Load(ctx context.Context) (*State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return &State{
		Replica:    m.replica,
		Created:    true,
		Clock:      m.clock,
		Snapshot:   Snapshot{Data: m.snap.Data, Version: cloneVV(m.snap.Version), Floor: cloneVV(m.snap.Floor)},
		Version:    cloneVV(m.version),
		Quarantine: slices.Clone(m.quarantine),
	}, nil
}

// Write implements Store. It applies b at once.
func (m *Memory) Write(ctx context.Context, b Batch) (*Ack, error) {
	if err := checkBatch(b); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	for _, c := range b.Changes {
		if c.End <= m.snap.Floor[c.Replica] {
			continue
		}
		m.log[c.Replica] = insertLog(m.log[c.Replica], c)
		m.version[c.Replica] = extendVersion(m.log[c.Replica], m.version[c.Replica])
	}
	if m.clock.Less(b.Clock) {
		m.clock = b.Clock
	}
	if b.SetQuarantine {
		m.quarantine = slices.Clone(b.Quarantine)
	}
	return doneAck(nil), nil
}

// Changes implements Store.
func (m *Memory) Changes(ctx context.Context, since VersionVector, maxBytes int) ([]Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrClosed
	}
	if err := checkFloor(m.snap.Floor, since); err != nil {
		return nil, false, err
	}
	var sel selection
	for _, r := range slices.Sorted(maps.Keys(m.log)) {
		es := m.log[r]
		for _, c := range es[firstAfter(es, since[r]):] {
			if !sel.add(c, maxBytes) {
				return sel.out, true, nil
			}
		}
	}
	return sel.out, false, nil
}

// Compact implements Store.
func (m *Memory) Compact(ctx context.Context, s Snapshot) error {
	if err := checkSnapshot(s); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	floor := maxVV(m.snap.Floor, s.Floor)
	m.snap = Snapshot{Data: s.Data, Version: cloneVV(s.Version), Floor: floor}
	for r, f := range floor {
		es := m.log[r]
		cut := firstAfter(es, f)
		if cut > 0 {
			es = slices.Delete(es, 0, cut)
			if len(es) == 0 {
				delete(m.log, r)
			} else {
				m.log[r] = es
			}
		}
	}
	m.version = maxVV(s.Version, m.version)
	for r, es := range m.log {
		m.version[r] = extendVersion(es, m.version[r])
	}
	return nil
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.log, m.snap, m.quarantine = nil, Snapshot{}, nil
	return nil
}

// firstAfter returns the index of the first change in es (sorted, no
// containment) with End > seq. Ends ascend, so it is a binary search.
func firstAfter(es []Change, seq uint64) int {
	i, _ := slices.BinarySearchFunc(es, seq, func(c Change, s uint64) int {
		if c.End <= s {
			return -1
		}
		return 1
	})
	return i
}

// insertLog inserts c into es keeping the order and the no-containment
// property: a change contained in a stored one is dropped (the stored one
// already holds those operations), stored changes that c contains are
// removed.
func insertLog(es []Change, c Change) []Change {
	// i is the first change with Start >= c.Start.
	i, _ := slices.BinarySearchFunc(es, c.Start, func(e Change, start uint64) int { return cmp.Compare(e.Start, start) })
	// Among changes with Start <= c.Start, es[i-1] has the largest End, and
	// es[i] may share c's Start: either may contain c.
	if i > 0 && es[i-1].End >= c.End {
		return es
	}
	if i < len(es) && es[i].Start == c.Start && es[i].End >= c.End {
		return es
	}
	j := i
	for j < len(es) && es[j].End <= c.End {
		j++
	}
	return slices.Replace(es, i, j, c)
}

// extendVersion extends v over the changes of es that follow on from it
// contiguously.
func extendVersion(es []Change, v uint64) uint64 {
	for _, c := range es[firstAfter(es, v):] {
		if c.Start > v+1 {
			break
		}
		v = c.End
	}
	return v
}

// selection accumulates a Changes reply within a byte budget.
type selection struct {
	out   []Change
	bytes int
}

// add appends c unless the budget is spent; it always takes the first.
func (s *selection) add(c Change, maxBytes int) bool {
	if len(s.out) > 0 && s.bytes+len(c.Data) > maxBytes {
		return false
	}
	s.out = append(s.out, c)
	s.bytes += len(c.Data)
	return true
}

// checkFloor reports ErrCompacted when since is below floor.
func checkFloor(floor, since VersionVector) error {
	for _, r := range slices.Sorted(maps.Keys(floor)) {
		if since[r] < floor[r] {
			return fmt.Errorf("%w: replica %s is compacted up to %d, reader has %d", ErrCompacted, r, floor[r], since[r])
		}
	}
	return nil
}

// checkBatch rejects malformed change headers.
func checkBatch(b Batch) error {
	for _, cs := range [][]Change{b.Changes, b.Quarantine} {
		for _, c := range cs {
			if !c.valid() {
				return fmt.Errorf("%w: change %s %d..%d is not a valid range", ErrConfig, c.Replica, c.Start, c.End)
			}
		}
	}
	if err := b.Clock.Validate(); err != nil {
		return fmt.Errorf("%w: clock bound: %w", ErrConfig, err)
	}
	return nil
}

// checkSnapshot rejects a snapshot whose floor is above its version.
func checkSnapshot(s Snapshot) error {
	for r, f := range s.Floor {
		if f > s.Version[r] {
			return fmt.Errorf("%w: snapshot floor %s: %d is above its version %d", ErrConfig, r, f, s.Version[r])
		}
	}
	return nil
}

// maxVV returns the per-replica maximum of a and b (a new map, without
// zero entries).
func maxVV(a, b VersionVector) VersionVector {
	f := cloneVV(a)
	for r, s := range b {
		if s > f[r] {
			f[r] = s
		}
	}
	for r, s := range f {
		if s == 0 {
			delete(f, r)
		}
	}
	return f
}
