package simulations

import (
	"fmt"
	"maps"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/mesh"
)

// changeCache shares decoded changes between the simulated replicas: a
// crdt.Change is immutable once decoded, so 10,000 replicas can hold one
// copy. Keyed by the wire bytes' identity (replica, start, end).
type changeCache map[changeID]*cachedChange

// cachedChange is a decoded change and its wire bytes.
type cachedChange struct {
	c    *crdt.Change
	data []byte
}

// encoded returns c's wire bytes, encoding once per change for the whole
// simulation.
func (cc changeCache) encoded(c *crdt.Change) []byte {
	id := changeID{c.Replica, c.StartSeq, c.EndSeq()}
	e, ok := cc[id]
	if !ok {
		e = &cachedChange{c: c}
		cc[id] = e
	}
	if e.data == nil {
		e.data = crdt.EncodeChange(c)
	}
	return e.data
}

// denseIDs numbers values densely, from 0 in order of first sight, so
// that per-node tables can be slices or small integer-keyed maps.
//
// Replicas (replicaIndex) are numbered so that each node can mirror its
// version vector in a slice (docAdapter.dense): the duplicate check on
// every gossiped change, the simulator's most frequent operation, is then
// an index instead of a map lookup in one of 10,000 maps. Broadcast keys
// are numbered so that gossip queues look them up by integer.
type denseIDs[K comparable] struct {
	ids  map[K]int32
	keys []K // keys[i] has number i
}

// of returns k's number, giving it the next one at first sight.
func (d *denseIDs[K]) of(k K) int32 {
	if d.ids == nil {
		d.ids = make(map[K]int32)
	}
	i, ok := d.ids[k]
	if !ok {
		i = int32(len(d.ids))
		d.ids[k] = i
		d.keys = append(d.keys, k)
	}
	return i
}

// replicaIndex numbers the replicas that have made changes.
type replicaIndex = denseIDs[clock.ReplicaID]

type changeID struct {
	replica    clock.ReplicaID
	start, end uint64
}

// docAdapter implements mesh.Document (and mesh.VersionReader) over a
// *crdt.Doc. It keeps a copy of the version vector, updated incrementally
// where the crdt result makes that exact and refreshed otherwise, so the
// core's per-gossip version check is a map lookup, and it reports every
// version advance to onAdvance (the simulator's convergence bookkeeping).
//
// It is not mesh's adapter (mesh.NewDocument) on purpose: it shares decoded
// changes between every simulated replica through changeCache (10,000
// replicas hold one copy of each change), reports version advances to the
// simulator's convergence bookkeeping, and checks version monotonicity as
// an invariant. If mesh's adapter grows hooks for those, this one can
// become a thin wrapper around it.
type docAdapter struct {
	d     *crdt.Doc
	fp    []byte
	cache changeCache
	// vv is the version vector as of the last version call; dense is
	// always current (stale reports that vv lags it). set, on every
	// applied change, writes only dense: its write into vv, a map in
	// one of 10,000, was a cache miss per node per change (5 s of the
	// 10,000-node run), where vv is read a few dozen times per node.
	vv      crdt.VersionVector
	stale   bool
	reps    *replicaIndex
	dense   []uint64 // the version vector by replicaIndex position
	quar    int
	scratch []*crdt.Change // Apply's, kept between calls
	advance func(r clock.ReplicaID, from, to uint64)
	violate func(invariant, detail string)
	// stats
	dropped, quarantinedTotal uint64
}

var (
	_ mesh.Document      = (*docAdapter)(nil)
	_ mesh.VersionReader = (*docAdapter)(nil)
	_ mesh.VersionViewer = (*docAdapter)(nil)
	_ mesh.FloorChecker  = (*docAdapter)(nil)
)

func newDocAdapter(d *crdt.Doc, fp []byte, cache changeCache, reps *replicaIndex, advance func(clock.ReplicaID, uint64, uint64)) *docAdapter {
	a := &docAdapter{d: d, fp: fp, cache: cache, vv: d.Version(), reps: reps, advance: advance}
	for _, r := range a.vv.Replicas() {
		a.mirror(r, a.vv[r])
	}
	return a
}

// mirror records vv[r] = seq in dense.
func (a *docAdapter) mirror(r clock.ReplicaID, seq uint64) { a.mirrorAt(int(a.reps.of(r)), seq) }

// mirrorAt records seq at dense position i.
func (a *docAdapter) mirrorAt(i int, seq uint64) {
	if i >= len(a.dense) {
		a.dense = append(a.dense, make([]uint64, i+1-len(a.dense))...)
	}
	a.dense[i] = seq
}

// holds reports whether the document covers the replica at position ridx
// up to seq: VersionOf without the map lookup.
func (a *docAdapter) holds(ridx int32, seq uint64) bool {
	return int(ridx) < len(a.dense) && a.dense[ridx] >= seq
}

// Version returns a copy of the version vector: the core may change it.
// a.vv holds no zero entries, so maps.Clone (a copy of the table, not a
// re-insertion of every entry) is an exact VersionVector.Clone.
func (a *docAdapter) Version() mesh.VersionVector { return mesh.VersionVector(maps.Clone(a.version())) }

// VersionView lends the version vector (see mesh.VersionViewer).
func (a *docAdapter) VersionView() mesh.VersionVector { return mesh.VersionVector(a.version()) }

// version returns the version vector, brought up to date with dense. The
// caller must not modify it.
func (a *docAdapter) version() crdt.VersionVector {
	if a.stale {
		keys := a.reps.keys
		for i, seq := range a.dense {
			if seq != 0 && a.vv[keys[i]] != seq {
				a.vv[keys[i]] = seq
			}
		}
		a.stale = false
	}
	return a.vv
}

// VersionOf reads the dense mirror: the index lookup is in one small map
// shared by every node (cache-hot), where a.vv[r] is in one of 10,000.
func (a *docAdapter) VersionOf(r clock.ReplicaID) uint64 {
	if i, ok := a.reps.ids[r]; ok && int(i) < len(a.dense) {
		return a.dense[i]
	}
	return 0
}

// refresh re-reads the document's version vector and reports advances.
// The vectors are walked unsorted (sorting them was half of refresh's
// cost): the advances are independent of one another. Only when an entry
// fell, a broken invariant, is the walk redone in replica order, so that
// the violation reported is the same in every run. (The walk's order can
// decide which dense number a replica first seen here gets; numbers only
// place entries in the dense mirrors and reach no report.)
func (a *docAdapter) refresh() {
	a.version()
	nv := a.d.Version()
	fell := false
	for r, old := range a.vv {
		if nv[r] < old {
			fell = true
			break
		}
	}
	if fell {
		for _, r := range a.vv.Replicas() {
			if old := a.vv[r]; nv[r] < old && a.violate != nil {
				a.violate("monotonic-versions", fmt.Sprintf("replica %v version of %v fell from %d to %d", a.d.Replica(), r, old, nv[r]))
			}
		}
		for _, r := range nv.Replicas() {
			if old := a.vv[r]; nv[r] != old {
				a.mirror(r, nv[r])
				a.advance(r, old, nv[r])
			}
		}
		a.vv = nv
		return
	}
	for r, seq := range nv {
		if old := a.vv[r]; seq != old {
			a.mirror(r, seq)
			a.advance(r, old, seq)
		}
	}
	a.vv = nv
}

// set records that replica r is now applied up to seq.
func (a *docAdapter) set(r clock.ReplicaID, seq uint64) {
	i, old := a.entry(r)
	a.raise(r, i, old, seq)
}

// setRead records replica r's entry as the document has it now, and
// reports a fall (a broken invariant) as refresh does.
func (a *docAdapter) setRead(r clock.ReplicaID) {
	seq := a.d.VersionOf(r)
	i, old := a.entry(r)
	if seq < old && a.violate != nil {
		a.violate("monotonic-versions", fmt.Sprintf("replica %v version of %v fell from %d to %d", a.d.Replica(), r, old, seq))
		return
	}
	a.raise(r, i, old, seq)
}

// entry returns replica r's dense position and its mirrored entry there.
func (a *docAdapter) entry(r clock.ReplicaID) (int, uint64) {
	i := int(a.reps.of(r))
	if i < len(a.dense) {
		return i, a.dense[i]
	}
	return i, 0
}

// raise records that r, at dense position i and mirrored at old, is
// applied up to seq, if that is more.
func (a *docAdapter) raise(r clock.ReplicaID, i int, old, seq uint64) {
	if seq > old {
		a.mirrorAt(i, seq)
		a.stale = true
		a.advance(r, old, seq)
	}
}

// local records a change this replica made with Update.
func (a *docAdapter) local(c *crdt.Change) {
	a.cache[changeID{c.Replica, c.StartSeq, c.EndSeq()}] = &cachedChange{c: c}
	a.set(c.Replica, c.EndSeq())
}

func (a *docAdapter) decode(ch mesh.Change) (*crdt.Change, error) {
	id := changeID{ch.Replica, ch.Start, ch.End}
	if e, ok := a.cache[id]; ok {
		return e.c, nil
	}
	c, err := crdt.DecodeChange(ch.Data)
	if err != nil {
		return nil, err
	}
	if c.Replica != ch.Replica || c.StartSeq != ch.Start || c.EndSeq() != ch.End {
		return nil, fmt.Errorf("simulations: change header %v/%d-%d does not match its data", ch.Replica, ch.Start, ch.End)
	}
	a.cache[id] = &cachedChange{c: c, data: ch.Data}
	return c, nil
}

// result records what an Apply of given did. pendingBefore is the pending
// buffer's length before the call.
func (a *docAdapter) result(res crdt.Result, given []*crdt.Change, pendingBefore int, err error) (mesh.Applied, error) {
	a.dropped += uint64(res.Dropped)
	a.quarantinedTotal += uint64(res.Quarantined)
	settled := res.Quarantined == 0 && a.quar == 0 && a.d.PendingLen() == 0
	exact := settled && res.Applied == len(given) && res.Pending == 0 &&
		res.Dropped == 0 && res.Rejected == 0 && res.Duplicates == 0
	switch {
	case exact:
		for _, c := range given {
			a.set(c.Replica, c.EndSeq())
		}
	case res.Applied > 0 && settled && pendingBefore == 0:
		// Some of given were duplicates (a reply crossing gossip) or
		// rejected, but nothing waited before or waits now: only
		// given's replicas moved. Reading their entries is cheaper than
		// refresh's copy and walk of the whole vector.
		for _, c := range given {
			a.setRead(c.Replica)
		}
	case res.Applied > 0:
		a.refresh()
	}
	if res.Quarantined > 0 || a.quar > 0 {
		a.quar = len(a.d.Quarantined())
	}
	return mesh.Applied{Changes: res.Applied, Pending: a.d.PendingLen(), Quarantined: a.quar}, err
}

func (a *docAdapter) Apply(changes []mesh.Change) (mesh.Applied, error) {
	// crdt.Doc.Apply does not keep the slice (only the changes), so one
	// scratch slice serves every call: 10 million allocations fewer at
	// 10,000 nodes.
	cs := a.scratch[:0]
	var firstErr error
	for _, ch := range changes {
		c, err := a.decode(ch)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		cs = append(cs, c)
	}
	pendingBefore := a.d.PendingLen()
	res, err := a.d.Apply(cs...)
	if err == nil {
		err = firstErr
	}
	applied, err := a.result(res, cs, pendingBefore, err)
	clear(cs)
	a.scratch = cs[:0]
	return applied, err
}

func (a *docAdapter) ChangesSince(v mesh.VersionVector, maxBytes int) ([]mesh.Change, bool, error) {
	cs := a.d.ChangesSince(crdt.VersionVector(v), maxBytes)
	out := make([]mesh.Change, len(cs))
	for i, c := range cs {
		out[i] = mesh.Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: a.cache.encoded(c)}
	}
	return out, len(cs) > 0 && a.lacks(v, out), nil
}

// lacks reports whether v, raised by the changes in out, still lacks
// something this document holds: whether a reply of out has more to come.
// It reads v without copying it (digests arrive at every node every
// second; a copy per reply was a tenth of the simulator's time).
func (a *docAdapter) lacks(v mesh.VersionVector, out []mesh.Change) bool {
	for r, seq := range a.version() {
		if v[r] >= seq {
			continue
		}
		sent := false
		for _, ch := range out {
			if ch.Replica == r && ch.End >= seq {
				sent = true
				break
			}
		}
		if !sent {
			return true
		}
	}
	return false
}

// CheckFloor reports whether the log still reaches back to v (the core
// asks before answering a digest from its recent changes): always, as
// nothing compacts a simulated document (the simulator drives cores, not
// Nodes, and a snapshot here is every change, applied as changes), so
// every replica's log starts at its first change. Without this method the
// core asked ChangesSince for everything v lacks and threw the answer
// away (1.4 % of the 10,000-node run); crdt's CheckFloor walks the same
// log spans back to v (2 % of a 2,000-node run) to find no gap.
func (a *docAdapter) CheckFloor(mesh.VersionVector) error { return nil }

// Snapshot encodes every change in the log: crdt has no compacted snapshot
// form yet, and the log is never compacted, so this is the whole state.
func (a *docAdapter) Snapshot() ([]byte, mesh.VersionVector, error) {
	cs := a.d.ChangesSince(nil, 0)
	return crdt.EncodeChanges(cs), a.Version(), nil
}

func (a *docAdapter) MergeSnapshot(data []byte) (mesh.Applied, error) {
	cs, err := crdt.DecodeChanges(data)
	if err != nil {
		return mesh.Applied{}, err
	}
	for i, c := range cs {
		id := changeID{c.Replica, c.StartSeq, c.EndSeq()}
		if shared, ok := a.cache[id]; ok {
			cs[i] = shared.c
		} else {
			a.cache[id] = &cachedChange{c: c}
		}
	}
	res, err := a.d.Apply(cs...)
	a.dropped += uint64(res.Dropped)
	a.quarantinedTotal += uint64(res.Quarantined)
	a.refresh()
	a.quar = len(a.d.Quarantined())
	return mesh.Applied{Changes: res.Applied, Pending: a.d.PendingLen(), Quarantined: a.quar}, err
}

func (a *docAdapter) RetryQuarantined() (mesh.Applied, error) {
	if a.quar == 0 {
		return mesh.Applied{Pending: a.d.PendingLen()}, nil
	}
	res, err := a.d.RetryQuarantined()
	if res.Applied > 0 {
		a.refresh()
	}
	a.quar = len(a.d.Quarantined())
	return mesh.Applied{Changes: res.Applied, Pending: a.d.PendingLen(), Quarantined: a.quar}, err
}

func (a *docAdapter) Fingerprint() []byte { return a.fp }
