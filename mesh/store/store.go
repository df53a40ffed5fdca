package store

import (
	"context"
	"maps"

	"github.com/syncmesh/syncmesh/clock"
)

// VersionVector maps each replica to a sequence number. It is an alias of
// the map type, so mesh.VersionVector and crdt.VersionVector values are
// assignable to it without conversion. A missing replica means 0. Not safe
// for concurrent mutation.
type VersionVector = map[clock.ReplicaID]uint64

// Change is one encoded change batch: the operations Start..End (inclusive)
// of Replica, in the document's encoding, which the store never reads. Its
// fields match mesh.Change, so store.Change(c) converts one.
type Change struct {
	Replica clock.ReplicaID
	Start   uint64
	End     uint64
	Data    []byte
}

// valid reports whether the header is well formed.
func (c Change) valid() bool { return c.Replica != 0 && c.Start >= 1 && c.End >= c.Start }

// Snapshot is the document state folded up to a compaction point.
type Snapshot struct {
	// Data is the encoded document state (crdt.EncodeSnapshot), opaque to
	// the store. Nil when there is no snapshot yet.
	Data []byte
	// Version is the version vector Data covers.
	Version VersionVector
	// Floor is the compaction floor: the log holds every stored change with
	// End > Floor[replica] and nothing at or below it. Floor <= Version
	// (per replica). A reader whose version vector is below Floor for some
	// replica must start from the snapshot.
	Floor VersionVector
}

// State is everything a replica loads at start.
type State struct {
	// Replica is this replica's id: created once with the data and never
	// reused. A store created from nothing gets a fresh random id.
	Replica clock.ReplicaID
	// Created reports that this Open created the store: there was no earlier
	// data (a new node, or one whose data directory was lost).
	Created bool
	// Clock is the persisted upper bound of issued timestamps; pass it as
	// clock.Config.Resume. Zero when none was ever written.
	Clock clock.Timestamp
	// Snapshot is the latest installed snapshot (Data nil if none).
	Snapshot Snapshot
	// Version is what snapshot and log cover together: Snapshot.Version
	// extended by the log's changes that follow on contiguously.
	Version VersionVector
	// Quarantine is the last saved set of quarantined changes.
	Quarantine []Change
}

// Batch is one write: changes appended to the log, and optionally a new clock
// bound and a new quarantine set, committed atomically.
type Batch struct {
	// Changes are appended to the log. A change whose range is at or below
	// the compaction floor is dropped (it is already in the snapshot); a
	// change with the same (Replica, Start, End) as a stored one replaces it.
	Changes []Change
	// Clock, when non-zero, raises the persisted clock bound to
	// max(stored, Clock). It never lowers it.
	Clock clock.Timestamp
	// SetQuarantine replaces the stored quarantine set with Quarantine.
	SetQuarantine bool
	// Quarantine is the new quarantine set when SetQuarantine is true.
	Quarantine []Change
}

// Store is one replica's durable state: its operation log, latest snapshot,
// clock bound, quarantined changes and identity.
//
// All methods are safe for concurrent use. Write may block while the write
// queue is full; Load, Changes and Compact block on I/O. Writes are applied in
// the order Write was called: if a Write's Ack succeeds, every Write called
// before it has been applied too (a prefix), so a caller that writes its own
// changes in sequence order under its lock never leaves a gap on disk.
//
// Byte slices passed in (Change.Data, Snapshot.Data) belong to the store from
// then on and must not be modified. Byte slices returned are shared and
// read-only: callers must not modify them.
//
// Six methods is one over the usual five: Load, Write, Changes and Compact are
// the replica's whole durable surface, and Close ends the committer.
type Store interface {
	// Load returns everything stored. The Node calls it once at start.
	Load(ctx context.Context) (*State, error)
	// Write queues b and returns an Ack for it without waiting for the disk
	// (it blocks only while the queue is full, until ctx ends). The batch is
	// durable when Ack.Wait returns nil (with durability on). Calling Write
	// under a lock and Wait outside it lets concurrent writers share one
	// fsync (group commit) while keeping their order.
	Write(ctx context.Context, b Batch) (*Ack, error)
	// Changes returns stored changes that since does not cover (End >
	// since[Replica]), each replica's in ascending Start order, totalling at
	// most maxBytes of Data except that at least one is returned when any
	// is missing. more reports that some were left out. An error wrapping
	// ErrCompacted means since is below the compaction floor for some
	// replica: the caller needs Load's snapshot first.
	Changes(ctx context.Context, since VersionVector, maxBytes int) (changes []Change, more bool, err error)
	// Compact installs s as the latest snapshot and drops the log's changes
	// with End <= s.Floor[Replica]. The floor never moves back (a lower
	// component is ignored). It is ordered with Writes like a Write and
	// durable when it returns nil.
	Compact(ctx context.Context, s Snapshot) error
	// Close commits what is queued, stops the committer and releases the
	// files. Later calls return ErrClosed.
	Close() error
}

// Ack reports when a Write is applied (and durable, with durability on).
// An Ack is safe for concurrent use.
type Ack struct {
	done chan struct{}
	err  error
}

func newAck() *Ack { return &Ack{done: make(chan struct{})} }

// doneAck returns an Ack that has already completed with err.
func doneAck(err error) *Ack {
	a := newAck()
	a.finish(err)
	return a
}

func (a *Ack) finish(err error) {
	a.err = err
	close(a.done)
}

// Wait blocks until the batch is applied or ctx ends. It returns the write's
// error, or ctx's error if ctx ended first (the write may still complete).
func (a *Ack) Wait(ctx context.Context) error {
	select {
	case <-a.done:
		return a.err
	default:
	}
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the batch has been applied or has failed.
func (a *Ack) Done() <-chan struct{} { return a.done }

// Write writes b to s and waits for it: Write then Ack.Wait.
func Write(ctx context.Context, s Store, b Batch) error {
	a, err := s.Write(ctx, b)
	if err != nil {
		return err
	}
	return a.Wait(ctx)
}

func cloneVV(v VersionVector) VersionVector {
	if v == nil {
		return VersionVector{}
	}
	return maps.Clone(v)
}
