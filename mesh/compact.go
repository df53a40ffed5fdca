package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// This file holds compaction at the causal-stability frontier (see
// docs/durability.md, "Compaction"): which operations every member holds,
// when that has moved far enough to compact, and the Node's compaction on
// its tick. The frontier logic is pure (time comes in as an argument) so
// that it is tested without a network; the Node part does the locking and
// I/O.

// frontierTracker computes the compaction frontier: per replica, the
// minimum over this node's version vector and the last version vector
// each member sent, live members and members dead for less than the
// retention window. A live member whose vector is not known yet holds the
// frontier at nothing. It is not safe for concurrent use (the Node calls
// it under its lock).
type frontierTracker struct {
	retention int64 // ms a dead member keeps holding the frontier
	members   map[string]*trackedMember
}

type trackedMember struct {
	v         VersionVector // last vector it sent; nil if none yet
	live      bool
	deadSince int64 // ms, when it was first seen not live
}

func newFrontierTracker(retentionMillis int64) *frontierTracker {
	return &frontierTracker{retention: retentionMillis, members: map[string]*trackedMember{}}
}

// update records the live members (names, without our own) and the version
// vectors peers last sent (by name; entries for names neither live nor
// tracked are ignored; the tracker keeps the vectors, which the caller must
// not modify afterwards), at time now (ms), and returns the frontier given
// our own version own. Members that are no longer live start their
// retention window now; once it has passed they are forgotten.
func (t *frontierTracker) update(now int64, live []string, versions map[string]VersionVector, own VersionVector) VersionVector {
	for _, name := range live {
		m := t.members[name]
		if m == nil {
			m = &trackedMember{}
			t.members[name] = m
		}
		m.live = true
	}
	isLive := make(map[string]bool, len(live))
	for _, name := range live {
		isLive[name] = true
	}
	for name, m := range t.members {
		if !isLive[name] && m.live {
			m.live, m.deadSince = false, now
		}
		if v, ok := versions[name]; ok {
			m.v = v
		}
		if !m.live && now-m.deadSince >= t.retention {
			delete(t.members, name)
		}
	}
	f := own.Clone()
	for _, m := range t.members {
		if m.v == nil {
			return VersionVector{}
		}
		for r, s := range f {
			if m.v[r] < s {
				f[r] = m.v[r]
			}
		}
	}
	for r, s := range f {
		if s == 0 {
			delete(f, r)
		}
	}
	return f
}

// holding returns the members that hold the frontier back (live, or dead
// within retention), sorted; for status and tests.
func (t *frontierTracker) holding() []string {
	names := make([]string, 0, len(t.members))
	for name := range t.members {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// notePeerVersion records the version vector peer sent (a digest or a
// snapshot): it only grows while the peer lives, so the newest replaces the
// old.
func (c *Core) notePeerVersion(peer string, v VersionVector) {
	if peer == c.cfg.Name || !c.cfg.KeepPeerVersions {
		return
	}
	if c.peerVV == nil {
		c.peerVV = map[string]VersionVector{}
	}
	c.peerVV[peer] = v
}

// peerVersions is PeerVersions without the copies, for the Node's
// compaction tick (every 100 ms, which copied every peer's vector each
// time). Read-only: the map is the core's, and the vectors are those of
// received messages, which nothing modifies once received.
func (c *Core) peerVersions() map[string]VersionVector { return c.peerVV }

// PeerVersions returns the last version vector each peer sent in a digest
// or snapshot, by name: a lower bound of what that peer holds. A peer that
// went down is forgotten (PeerDown). Empty unless
// CoreConfig.KeepPeerVersions is set. The map and vectors are copies the
// caller owns.
func (c *Core) PeerVersions() map[string]VersionVector {
	out := make(map[string]VersionVector, len(c.peerVV))
	for name, v := range c.peerVV {
		out[name] = v.Clone()
	}
	return out
}

// compactPlanner decides when to compact: when the frontier has moved by at
// least every operations since the last compaction. Pure; not safe for
// concurrent use.
type compactPlanner struct {
	tracker *frontierTracker
	every   uint64
	last    VersionVector // frontier of the last compaction
}

func newCompactPlanner(retentionMillis int64, every uint64) *compactPlanner {
	return &compactPlanner{tracker: newFrontierTracker(retentionMillis), every: max(every, 1), last: VersionVector{}}
}

// due updates the frontier (see frontierTracker.update) and returns it, and
// whether it has moved far enough past the last compaction to compact now.
// The caller that compacts calls done with the frontier.
func (p *compactPlanner) due(now int64, live []string, versions map[string]VersionVector, own VersionVector) (VersionVector, bool) {
	f := p.tracker.update(now, live, versions, own)
	return f, p.last.Missing(f) >= p.every
}

// done records a compaction at frontier f.
func (p *compactPlanner) done(f VersionVector) {
	for r, s := range f {
		p.last[r] = max(p.last[r], s)
	}
}

// Compacter is implemented by documents that can drop history every member
// holds. The crdt adapter (NewDocument) implements it. Like Document, it is
// called under the caller's serialisation.
type Compacter interface {
	// Compact drops what frontier makes unnecessary (see crdt.Doc.Compact):
	// frontier must be held by every member that may still ask for changes.
	// Afterwards ChangesSince returns an error wrapping ErrCompacted to a
	// reader below it.
	Compact(frontier VersionVector) crdt.CompactStats
}

var _ Compacter = (*crdtDocument)(nil)

// Compact implements Compacter.
func (d *crdtDocument) Compact(frontier VersionVector) crdt.CompactStats {
	return d.doc.Compact(crdt.VersionVector(frontier))
}

// FloorChecker is an optional fast path of Document: whether ChangesSince(v)
// would return an error wrapping ErrCompacted, without collecting changes.
// The core's digest probe uses it when the document implements it.
type FloorChecker interface {
	CheckFloor(v VersionVector) error
}

var (
	_ FloorChecker = (*crdtDocument)(nil)
	_ FloorChecker = (*durableDocument)(nil)
)

// CheckFloor implements FloorChecker.
func (d *crdtDocument) CheckFloor(v VersionVector) error {
	if err := d.doc.CheckFloor(crdt.VersionVector(v)); err != nil {
		return fmt.Errorf("%w: %w", ErrCompacted, err)
	}
	return nil
}

// CheckFloor implements FloorChecker.
func (d *durableDocument) CheckFloor(v VersionVector) error { return d.inner.CheckFloor(v) }

// checkFloor asks doc whether a reader at v is below its log's floor:
// through FloorChecker when the document has it, else by reading changes.
func (c *Core) checkFloor(v VersionVector) error {
	if fc, ok := c.doc.(FloorChecker); ok {
		return fc.CheckFloor(v)
	}
	_, _, err := c.doc.ChangesSince(v, 0)
	return err
}

// CompactionStatus is what the Node's compaction has done. A plain value.
type CompactionStatus struct {
	// Frontier is the compaction frontier at the last tick.
	Frontier VersionVector
	// Floor is the frontier of the last compaction.
	Floor VersionVector
	// Holding are the members (other than this node) whose version vectors
	// make the frontier: live ones and ones dead for less than Retention.
	Holding []string
	// Compactions counts compactions of the in-memory document;
	// StoreCompactions those that also installed a snapshot in the store.
	Compactions, StoreCompactions uint64
	// StoreErrors counts store compactions that failed.
	StoreErrors uint64
	// LogChanges and LogBytes are what the document's op log held after
	// the last compaction (estimated bytes).
	LogChanges, LogBytes int
}

// nodeCompaction is the Node's compaction state: guarded by Node.mu, except
// storeBusy.
type nodeCompaction struct {
	plan     *compactPlanner
	frontier VersionVector
	status   CompactionStatus
	// storeBusy is set while a snapshot is encoded and installed outside
	// the lock; no new compaction starts meanwhile.
	storeBusy atomic.Bool
	storeDone atomic.Uint64
	storeErrs atomic.Uint64
}

// compactionLocked returns the Node's compaction state, creating it.
func (n *Node) compactionLocked() *nodeCompaction {
	if n.compaction == nil {
		n.compaction = &nodeCompaction{plan: newCompactPlanner(n.cfg.Retention.Milliseconds(), n.cfg.CompactOps)}
	}
	return n.compaction
}

// Compaction returns what compaction has done so far. Safe for concurrent
// use.
func (n *Node) Compaction() CompactionStatus {
	n.mu.Lock()
	c := n.compactionLocked()
	s := c.status
	s.Frontier, s.Floor = c.frontier.Clone(), c.plan.last.Clone()
	s.Holding = c.plan.tracker.holding()
	n.mu.Unlock()
	s.StoreCompactions, s.StoreErrors = c.storeDone.Load(), c.storeErrs.Load()
	return s
}

// crdtOf returns the crdt document behind a LocalDocument, or nil.
func crdtOf(d LocalDocument) (*crdt.Doc, Compacter) {
	switch d := d.(type) {
	case *crdtDocument:
		return d.doc, d
	case *durableDocument:
		return d.inner.doc, d.inner
	}
	return nil, nil
}

// compactTick runs on the protocol loop's tick at time now (ms): it updates
// the frontier and, when it has moved by CompactOps since the last
// compaction, compacts the document under the lock (the op log below the
// frontier, empty registers) and, with a store, installs a snapshot and
// truncates the store's log. The snapshot is taken under the lock (a crdt
// snapshot is an immutable copy) and encoded and written by a goroutine
// outside it; while that runs no other compaction starts.
func (n *Node) compactTick(ctx context.Context, now int64) {
	n.mu.Lock()
	c := n.compactionLocked()
	f, due := c.plan.due(now, n.core.Peers(), n.core.peerVersions(), n.doc.Version())
	c.frontier = f
	doc, cp := crdtOf(n.doc)
	if !due || cp == nil || c.storeBusy.Load() {
		n.mu.Unlock()
		return
	}
	var snap *crdt.Snapshot
	if n.durable != nil && n.store != nil {
		if n.durable.failed != nil || n.durable.undurable() > 0 {
			// A snapshot must hold only acknowledged own changes
			// (the clock bound stored covers only those); next tick.
			n.mu.Unlock()
			return
		}
		snap = doc.Snapshot()
	}
	st := cp.Compact(f)
	c.plan.done(f)
	c.status.Compactions++
	c.status.LogChanges, c.status.LogBytes = st.LogChanges, st.LogBytes
	n.mu.Unlock()
	if snap == nil {
		return
	}
	c.storeBusy.Store(true)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer c.storeBusy.Store(false)
		if err := compactStore(ctx, n.store, snap, f); err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
				c.storeErrs.Add(1)
				n.log.Warn("compaction: installing a snapshot failed", "err", err)
			}
			return
		}
		c.storeDone.Add(1)
	}()
}

// compactStore encodes snap and installs it in st with the floor at
// min(frontier, the snapshot's version).
func compactStore(ctx context.Context, st store.Store, snap *crdt.Snapshot, frontier VersionVector) error {
	data := crdt.EncodeSnapshot(snap)
	v := VersionVector(snap.Version())
	floor := VersionVector{}
	for r, s := range frontier {
		if x := min(s, v[r]); x > 0 {
			floor[r] = x
		}
	}
	if err := st.Compact(ctx, store.Snapshot{Data: data, Version: store.VersionVector(v), Floor: store.VersionVector(floor)}); err != nil {
		return fmt.Errorf("mesh: compacting the store: %w", err)
	}
	return nil
}
