package crdt

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// This file holds compaction: dropping the op log below a causal-stability
// frontier, reporting readers that fall below what the log still holds, and
// dropping map registers that hold nothing at all.
//
// The log's floor is not stored: it follows from the log itself. Per
// replica, the log holds changes in the order they were applied, each
// starting at most one past where the previous one ended, unless something
// advanced the version vector without the log (a merged snapshot) or the
// front was dropped by Compact. A reader is served only if the log reaches
// contiguously from its version to ours; otherwise ChangesSinceErr returns a
// *CompactedError, never a silent gap.

// CompactStats reports what one Compact did and what the log holds after it.
// A plain value.
type CompactStats struct {
	// DroppedChanges and DroppedBytes are the log changes dropped and their
	// size in bytes (a change kept encoded: its encoding's length; one kept
	// by pointer: an estimate of its memory).
	DroppedChanges, DroppedBytes int
	// DroppedRegisters counts map registers dropped because they held
	// nothing (no entry, no counter, nothing below them).
	DroppedRegisters int
	// LogChanges and LogBytes are what the log holds afterwards.
	LogChanges, LogBytes int
}

// CompactedError reports a reader whose version vector is below what the
// log still reaches for some replica. It unwraps to ErrCompacted. A plain
// value.
type CompactedError struct {
	// Replica is the first replica (in ascending id order) for which the
	// log does not reach back far enough.
	Replica clock.ReplicaID
	// Have is the reader's sequence number for Replica.
	Have uint64
	// Floor is the lowest sequence number for Replica from which the log
	// reaches contiguously to this replica's version.
	Floor uint64
}

// Error implements error.
func (e *CompactedError) Error() string {
	return fmt.Sprintf("crdt: changes compacted away: replica %s is held from %d, reader has %d", e.Replica, e.Floor, e.Have)
}

// Unwrap returns ErrCompacted.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

// Compact drops what the frontier makes unnecessary. frontier must be
// causally stable: every replica that will ever ask this one for changes has
// applied everything it covers (mesh computes it as the minimum of the live
// members' version vectors). It is clamped to this replica's own version.
//
//   - Log changes with End <= frontier[author] are dropped; readers below
//     them get a *CompactedError from ChangesSinceErr (and need a snapshot).
//   - Map registers that hold nothing (no entry, no counter contribution,
//     nothing below them) are dropped. Such a register behaves exactly like
//     one that was never created, so this is safe at any time; it is done
//     here because it needs a walk over the whole document.
//
// Entries a write superseded are already gone when the superseding op is
// applied. What stays: list tombstones (a later insert may pick one as its
// origin) and removed counter contributions (a mark concurrent with the
// removal must still find them); see docs/crdt.md, "Compaction".
//
// Compact changes neither the visible state nor the version vector, and
// pending or quarantined changes are untouched (they lie above the version
// vector, hence above the frontier).
func (d *Doc) Compact(frontier VersionVector) CompactStats {
	var st CompactStats
	l := d.compactLog()
	for k := range l.authors {
		a := &l.authors[k]
		f := min(frontier[a.r], d.vv[a.r])
		i := 0
		for ; i < a.len(); i++ {
			if _, end := a.span(i); end > f {
				break
			}
			st.DroppedBytes += a.size(i)
		}
		if i == 0 {
			continue
		}
		st.DroppedChanges += i
		a.dropFront(i)
		a.sup.dropBelow(f + 1)
	}
	st.DroppedRegisters = dropEmptyRegisters(d.root)
	st.LogChanges, st.LogBytes = l.size()
	return st
}

// LogSize returns the number of changes the op log holds and their
// estimated size in bytes. O(changes).
func (d *Doc) LogSize() (changes, bytes int) { return d.compactLog().size() }

// Floor returns, per replica, the highest sequence number below which the
// log does not reach: a reader whose version is below Floor for some replica
// gets a *CompactedError from ChangesSinceErr. Replicas with floor 0 are
// left out. O(log length).
func (d *Doc) Floor() VersionVector {
	l := d.compactLog()
	f := VersionVector{}
	for r, have := range d.vv {
		if x := l.floorOf(r, have, 0); x > 0 {
			f[r] = x
		}
	}
	return f
}

// ChangesSinceErr is ChangesSince that never leaves a silent gap: if vv is
// below what the log still reaches for some replica that vv lacks changes
// of (after Compact, or after a merged snapshot advanced the version without
// the log), it returns a *CompactedError (errors.Is ErrCompacted) and no
// changes, and the reader needs a snapshot. Otherwise it returns what
// ChangesSince would: the changes holding ops vv lacks, replica by replica
// in sequence order, stopping once about maxBytes are collected (maxBytes
// <= 0: no limit), at least one when any is missing. The floor is checked
// for every replica before any change is collected.
func (d *Doc) ChangesSinceErr(vv VersionVector, maxBytes int) ([]*Change, error) {
	if err := d.CheckFloor(vv); err != nil {
		return nil, err
	}
	return d.compactLog().since(vv, maxBytes), nil
}

// CheckFloor returns the *CompactedError ChangesSinceErr would return for a
// reader at vv, or nil, without collecting any change: it walks back only
// over the changes vv lacks.
func (d *Doc) CheckFloor(vv VersionVector) error {
	l := d.compactLog()
	rs := make([]clock.ReplicaID, 0, len(d.vv))
	for r, s := range d.vv {
		if s > vv[r] {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, cmp.Compare)
	for _, r := range rs {
		if f := l.floorOf(r, d.vv[r], vv[r]); vv[r] < f {
			return &CompactedError{Replica: r, Have: vv[r], Floor: f}
		}
	}
	return nil
}

// compactLog returns the in-memory log. A different opLog would have to
// bring its own compaction.
func (d *Doc) compactLog() *memLog {
	return &d.log
}

// size returns the number of changes and their estimated bytes.
func (l *memLog) size() (changes, bytes int) {
	for k := range l.authors {
		a := &l.authors[k]
		changes += a.len()
		for i := range a.len() {
			bytes += a.size(i)
		}
	}
	return changes, bytes
}

// floorOf returns the lowest sequence number of replica r from which the log
// reaches contiguously up to have (the document's version for r): walking
// back from the newest change, the first gap (or the front of the log) ends
// the reach. The walk stops once it reaches down to reader (a result <=
// reader then means "reader is served"), so checking a reader costs only the
// changes it is about to be sent.
func (l *memLog) floorOf(r clock.ReplicaID, have, reader uint64) uint64 {
	a := l.authorOf(r)
	if a == nil || have <= reader {
		return have
	}
	if a.isEncoded() {
		return a.enc.floor(have)
	}
	cur := have
	for i := a.len() - 1; i >= 0 && cur > reader; i-- {
		start, end := a.span(i)
		if end < cur {
			return cur // a gap between change i and what follows
		}
		cur = min(cur, start-1)
	}
	return cur
}

// dropEmptyRegisters removes, below n, every map register that holds
// nothing: no entry, no counter, shows nothing, and whose container (if
// any) has no list and only such registers. It returns how many it removed
// (nested ones included). List element registers are kept: they belong to
// the list's sequence.
func dropEmptyRegisters(n *node) int {
	dropped := 0
	here := false
	for k, s := range n.keys {
		if s.child != nil {
			dropped += dropEmptyRegisters(s.child)
		}
		if len(s.entries) == 0 && s.ctr == nil && s.vis == visNone && (s.child == nil || emptyNode(s.child)) {
			delete(n.keys, k)
			dropped++
			here = true
		}
	}
	if here {
		// The node's cache must hold only registers of its keys.
		n.hot.forget()
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			if s.child != nil {
				dropped += dropEmptyRegisters(s.child)
			}
		}
	}
	return dropped
}

// emptyNode reports a container with no registers and no list left.
func emptyNode(n *node) bool {
	return len(n.keys) == 0 && n.lst == nil && n.liveMap == 0 && n.liveList == 0
}
