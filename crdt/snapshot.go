package crdt

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// Snapshot is the full CRDT state of a replica (every live entry with its id
// and timestamp, counter contributions, list slots with their origins and
// tombstones, element positions) and its version vector. Merging snapshots
// is the causal-context join (see MergeSnapshot). A Snapshot is immutable
// and safe for concurrent reads.
type Snapshot struct {
	vv   VersionVector
	root *snapNode
}

// Version returns a copy of the snapshot's version vector.
func (s *Snapshot) Version() VersionVector { return s.vv.Clone() }

type snapNode struct {
	keys  []string
	slots []*snapSlot // parallel to keys, sorted by key
	list  *snapList
}

type snapSlot struct {
	entries []entry // sorted by id
	ctr     []contrib
	child   *snapNode
}

type snapPos struct {
	id  OpID
	org seq.Origins
}

type snapElem struct {
	id    OpID
	pos   OpID
	posTS clock.Timestamp
	slot  *snapSlot
}

type snapList struct {
	slots []snapPos  // every position slot, sorted by id
	elems []snapElem // sorted by id
	moved [][2]OpID  // move slot -> element, sorted by slot
}

func idCmp(a, b OpID) int { return a.Compare(b) }

// Snapshot captures the document's CRDT state.
func (d *Doc) Snapshot() *Snapshot {
	var c snapCopier
	return &Snapshot{vv: d.vv.Clone(), root: c.node(d.root)}
}

// snapCopier copies registers into a snapshot; the copies of a node's
// registers share one slab, entries one chunked arena.
type snapCopier struct {
	entries []entry
}

// keyed is a map register with its key, for sorting.
type keyed struct {
	k string
	s *slot
}

func (c *snapCopier) node(n *node) *snapNode {
	if n == nil {
		return nil
	}
	sn := &snapNode{}
	ks := make([]keyed, 0, len(n.keys))
	for k, s := range n.keys {
		if !emptySlot(s) {
			ks = append(ks, keyed{k, s})
		}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.k, b.k) })
	if len(ks) > 0 {
		sn.keys = make([]string, len(ks))
		sn.slots = make([]*snapSlot, len(ks))
		slab := make([]snapSlot, len(ks))
		for i, e := range ks {
			sn.keys[i] = e.k
			sn.slots[i] = &slab[i]
			c.slot(&slab[i], e.s)
		}
	}
	if l := n.lst; l != nil {
		sl := &snapList{}
		// Slots and elements in id order: an element is named by its
		// insert's slot, so walking the slots in id order finds the
		// elements in id order too, without sorting them.
		sl.slots = make([]snapPos, 0, l.seq.Slots())
		sl.elems = make([]snapElem, 0, l.numElems())
		slab := make([]snapSlot, l.numElems())
		elem := func(id OpID, s *slot) {
			// An element at its insert's slot has the zero position
			// timestamp (see listState.moveTS): every move is causally
			// after the insert, so the zero one loses to all.
			e := snapElem{id: id, pos: s.pos, posTS: l.posTS(s), slot: &slab[len(sl.elems)]}
			c.slot(e.slot, s)
			sl.elems = append(sl.elems, e)
		}
		for id, o := range l.seq.ByID() {
			sl.slots = append(sl.slots, snapPos{id: id, org: o})
			if s := l.elem(id); s != nil {
				elem(id, s)
			}
		}
		if len(sl.elems) != l.numElems() {
			panic("crdt: broken invariant: a list element without its insert's slot")
		}
		for p, e := range l.moved {
			sl.moved = append(sl.moved, [2]OpID{p, e})
		}
		slices.SortFunc(sl.moved, func(a, b [2]OpID) int { return idCmp(a[0], b[0]) })
		sn.list = sl
	}
	if len(sn.keys) == 0 && sn.list == nil {
		return nil
	}
	return sn
}

// emptySlot reports whether a map register holds nothing at all.
func emptySlot(s *slot) bool {
	return len(s.entries) == 0 && s.ctr == nil && !holdsAnything(s.child)
}

// holdsAnything reports whether container n would appear in a snapshot.
func holdsAnything(n *node) bool {
	if n == nil {
		return false
	}
	if n.lst != nil {
		return true
	}
	for _, s := range n.keys {
		if !emptySlot(s) {
			return true
		}
	}
	return false
}

// slot copies register s into ss.
func (c *snapCopier) slot(ss *snapSlot, s *slot) {
	if n := len(s.entries); n > 0 {
		ss.entries = takeN(&c.entries, n, 1<<14)
		copy(ss.entries, s.entries)
		slices.SortFunc(ss.entries, func(a, b entry) int { return idCmp(a.id, b.id) })
	}
	if s.ctr != nil {
		ss.ctr = slices.Clone(s.ctr.contribs)
	}
	ss.child = c.node(s.child)
}

// Snapshot wire format (version 1): [1, 3, replicas, body], where body is a
// bin holding raw DEFLATE (compress/flate, level 9: deterministic for a
// given input and Go version) of the msgpack
//
//	[vv pairs (replica index, seq), base wall, root]
//	node  = [[key, ...], [slot, ...], list or nil]
//	slot  = [entries, counter or nil, child node or nil]
//	entries = [ID, TS, value, ...] flattened; an int value is written as
//	        the difference from the previous int value written
//	counter = [[ID, TS, int, float, hasFloat, removed seq, removed int,
//	           removed float], ...]
//	list  = [slots, moved, elements]
//	slots = [ID, side (0 none, 1 left, 2 right), origin ID, ...] flattened
//	        (side 0 writes 0, 0 for the origin), by id
//	moved = [slot ID, element ID, ...] by slot
//	elements = [[nil or [pos ID, pos TS], slot], ...]: the slots that are
//	        not move slots, in order (so their ids are implied); nil means
//	        the element sits at its insert position
//
// An ID is (replica index, seq - previous seq written) and a TS is (wall -
// previous wall, logical - previous logical), both signed: ids and stamps
// come in runs, so the deltas are small and DEFLATE folds their patterns.
// Timestamps carry no replica: it is always the replica of the op they
// stamp.
const maxSnapshotBody = 1 << 28

// maxSnapshotKeys bounds the keys of one map and the slots of one list in a
// snapshot (a change's lists are bounded by maxWireList; a snapshot holds a
// whole document, so its bound is far larger and the real limit is the
// body size: every key or slot takes several bytes of it).
const maxSnapshotKeys = 1 << 25

type snapWriter struct {
	t       wireTable
	base    int64
	b       []byte // body bytes not yet handed to z
	z       *flate.Writer
	prevSeq uint64
	prevTS  clock.Timestamp
	prevInt int64
}

// snapChunk is how much body the writer collects before compressing it:
// the body of a large document is never held whole (DEFLATE's output does
// not depend on how its input is split).
const snapChunk = 64 << 10

// spill hands the collected body bytes to the compressor once there are
// snapChunk of them.
func (w *snapWriter) spill() {
	if len(w.b) >= snapChunk {
		_, _ = w.z.Write(w.b)
		w.b = w.b[:0]
	}
}

// value writes an entry's value; ints as the difference from the previous
// int written (list items are often counted up).
func (w *snapWriter) value(v draft.Value) {
	if i, ok := v.AsInt(); ok {
		w.b = mpInt(w.b, i-w.prevInt)
		w.prevInt = i
		return
	}
	w.b = appendValue(w.b, v)
}

// id writes a replica index and the seq as a signed delta from the previous
// id written (ids mostly come in runs).
func (w *snapWriter) id(id OpID) {
	w.b = mpUint(w.b, uint64(w.t.idx[id.Replica]))
	w.b = mpInt(w.b, int64(id.Seq-w.prevSeq))
	w.prevSeq = id.Seq
}

// EncodeSnapshot returns the wire encoding of s. Equal snapshots encode to
// equal bytes.
func EncodeSnapshot(s *Snapshot) []byte {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	w := &snapWriter{t: wireTable{idx: make(map[clock.ReplicaID]int)}, base: -1, z: fw, b: make([]byte, 0, snapChunk+4096)}
	for _, r := range s.vv.Replicas() {
		w.t.add(r)
	}
	w.scan(s.root)
	if w.base < 0 {
		w.base = 0
	}
	rs := s.vv.Replicas()
	w.b = mpArray(w.b, 3)
	w.b = mpArray(w.b, 2*len(rs))
	for _, r := range rs {
		w.b = w.t.appendID(w.b, OpID{Replica: r, Seq: s.vv[r]})
	}
	w.b = mpInt(w.b, w.base)
	w.prevTS = clock.Timestamp{Wall: w.base}
	w.node(s.root)
	_, _ = fw.Write(w.b)
	_ = fw.Close()

	out := mpArray(nil, 4)
	out = mpUint(out, wireVersion)
	out = mpUint(out, msgSnapshot)
	out = mpArray(out, len(w.t.ids))
	for _, r := range w.t.ids {
		out = mpUint(out, uint64(r))
	}
	return mpBin(out, z.String())
}

// scan registers replicas and finds the smallest wall.
func (w *snapWriter) scan(n *snapNode) {
	if n == nil {
		return
	}
	wall := func(ts clock.Timestamp) {
		if ts.IsZero() {
			return
		}
		if w.base < 0 || ts.Wall < w.base {
			w.base = ts.Wall
		}
	}
	var slot func(s *snapSlot)
	slot = func(s *snapSlot) {
		for _, e := range s.entries {
			w.t.add(e.id.Replica)
			wall(e.ts)
		}
		for _, c := range s.ctr {
			w.t.add(c.replica)
			wall(c.ts)
		}
		w.scan(s.child)
	}
	for _, s := range n.slots {
		slot(s)
	}
	if l := n.list; l != nil {
		for _, p := range l.slots {
			w.t.add(p.id.Replica)
			for _, o := range originIDs(p.org) {
				w.t.add(o.Replica)
			}
		}
		for _, e := range l.elems {
			w.t.add(e.pos.Replica)
			wall(e.posTS)
			slot(e.slot)
		}
	}
}

// ts writes a timestamp as deltas from the previous one written.
func (w *snapWriter) ts(ts clock.Timestamp) {
	w.b = mpInt(w.b, ts.Wall-w.prevTS.Wall)
	w.b = mpInt(w.b, int64(ts.Logical)-int64(w.prevTS.Logical))
	w.prevTS = ts
}

func (w *snapWriter) node(n *snapNode) {
	if n == nil {
		w.b = mpNil(w.b)
		return
	}
	w.b = mpArray(w.b, 3)
	w.b = mpArray(w.b, len(n.keys))
	for _, k := range n.keys {
		w.spill()
		w.b = mpStr(w.b, k)
	}
	w.b = mpArray(w.b, len(n.slots))
	for _, s := range n.slots {
		w.slot(s)
	}
	l := n.list
	if l == nil {
		w.b = mpNil(w.b)
		return
	}
	w.b = mpArray(w.b, 3)
	w.b = mpArray(w.b, 5*len(l.slots))
	for _, p := range l.slots {
		w.spill()
		w.id(p.id)
		switch {
		case !p.org.Left.IsZero():
			w.b = mpUint(w.b, 1)
			w.id(p.org.Left)
		case !p.org.Right.IsZero():
			w.b = mpUint(w.b, 2)
			w.id(p.org.Right)
		default:
			w.b = append(mpUint(w.b, 0), 0, 0)
		}
	}
	w.b = mpArray(w.b, 4*len(l.moved))
	for _, m := range l.moved {
		w.spill()
		w.id(m[0])
		w.id(m[1])
	}
	// Elements are the slots that are not move slots, in the same order, so
	// their ids are not written.
	w.b = mpArray(w.b, len(l.elems))
	for _, e := range l.elems {
		w.b = mpArray(w.b, 2)
		if e.pos == e.id {
			w.b = mpNil(w.b)
		} else {
			w.b = mpArray(w.b, 4)
			w.id(e.pos)
			w.ts(e.posTS)
		}
		w.slot(e.slot)
	}
}

func (w *snapWriter) slot(s *snapSlot) {
	w.spill()
	w.b = mpArray(w.b, 3)
	w.b = mpArray(w.b, 5*len(s.entries))
	for _, e := range s.entries {
		w.id(e.id)
		w.ts(e.ts)
		w.value(e.val)
	}
	if s.ctr == nil {
		w.b = mpNil(w.b)
	} else {
		w.b = mpArray(w.b, len(s.ctr))
		for _, c := range s.ctr {
			w.b = mpArray(w.b, 10)
			w.id(OpID{Replica: c.replica, Seq: c.seq})
			w.ts(c.ts)
			w.b = mpInt(w.b, c.i)
			w.b = mpFloat(w.b, c.f)
			w.b = mpBool(w.b, c.hasF)
			w.b = mpUint(w.b, c.remSeq)
			w.b = mpInt(w.b, c.remI)
			w.b = mpFloat(w.b, c.remF)
		}
	}
	w.node(s.child)
}

// DecodeSnapshot decodes bytes from EncodeSnapshot. It never panics and
// checks every size before allocating.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	r := &mpReader{b: b}
	table, typ := r.header()
	if r.err == nil && typ != msgSnapshot {
		return nil, fmt.Errorf("%w: message type %d is not a snapshot", ErrVersion, typ)
	}
	z := r.bin(maxSnapshotBody)
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
	if r.err != nil {
		return nil, r.err
	}
	body, err := inflate(z)
	if err != nil {
		return nil, err
	}
	sr := &snapReader{t: table, r: &mpReader{b: body}}
	s := sr.snapshot()
	if sr.r.err == nil && sr.r.left() != 0 {
		sr.r.fail("%d trailing bytes in body", sr.r.left())
	}
	if sr.r.err != nil {
		return nil, sr.r.err
	}
	return s, nil
}

// inflate decompresses a snapshot body, at most maxSnapshotBody bytes.
func inflate(z []byte) ([]byte, error) {
	// A large snapshot's body compresses about 8:1; starting a little above
	// saves the copies a growing buffer makes.
	var buf bytes.Buffer
	buf.Grow(min(10*len(z)+512, maxSnapshotBody+1))
	_, err := buf.ReadFrom(io.LimitReader(flate.NewReader(bytes.NewReader(z)), maxSnapshotBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot body: %v", ErrMalformed, err)
	}
	if buf.Len() > maxSnapshotBody {
		return nil, fmt.Errorf("%w: snapshot body over %d bytes", ErrTooLarge, maxSnapshotBody)
	}
	return buf.Bytes(), nil
}

type snapReader struct {
	t       *readTable
	r       *mpReader
	base    int64
	depth   int
	prevSeq uint64
	prevTS  clock.Timestamp
	prevInt int64

	entries []entry // arena the registers' entries are carved from
}

// takeEntries carves n entries from the arena, in chunks sized by what the
// rest of the input can hold (an entry takes at least 5 bytes).
func (sr *snapReader) takeEntries(n int) []entry {
	return takeN(&sr.entries, n, min(1<<14, sr.r.left()/5+1))
}

// keys reads n strings, sorted and distinct, into one allocation.
func (sr *snapReader) keys(n int) []string {
	r := sr.r
	start, total := r.off, 0
	var prev []byte
	for i := range n {
		k := r.strBytes(maxWireString)
		if r.err != nil {
			return nil
		}
		if i > 0 && bytes.Compare(k, prev) <= 0 {
			r.fail("keys not sorted")
			return nil
		}
		prev = k
		total += len(k)
	}
	end := r.off
	var all strings.Builder
	all.Grow(total)
	r.off = start
	for range n {
		all.Write(r.strBytes(maxWireString))
	}
	r.off = end
	src := all.String()
	keys := make([]string, n)
	at := 0
	r.off = start
	for i := range keys {
		k := r.strBytes(maxWireString)
		keys[i] = src[at : at+len(k)]
		at += len(k)
	}
	return keys
}

func (sr *snapReader) id() OpID {
	rep := sr.t.replica(sr.r)
	s := sr.prevSeq + uint64(sr.r.int())
	if s == 0 && sr.r.err == nil {
		sr.r.fail("zero sequence number")
	}
	sr.prevSeq = s
	return OpID{Replica: rep, Seq: s}
}

func (sr *snapReader) snapshot() *Snapshot {
	r := sr.r
	if r.array(3, 1) != 3 {
		r.fail("snapshot body must be an array of 3")
		return nil
	}
	s := &Snapshot{vv: VersionVector{}}
	k := r.array(2*maxWireReplicas, 1)
	if k%2 != 0 {
		r.fail("odd version vector")
	}
	for range k / 2 {
		id := sr.t.id(r)
		s.vv[id.Replica] = id.Seq
	}
	sr.base = r.int()
	if sr.base < 0 || sr.base > clock.MaxWall {
		r.fail("base wall %d out of range", sr.base)
	}
	sr.prevTS = clock.Timestamp{Wall: sr.base}
	s.root = sr.node()
	return s
}

func (sr *snapReader) ts(rep clock.ReplicaID) clock.Timestamp {
	wall := sr.prevTS.Wall + sr.r.int()
	l := int64(sr.prevTS.Logical) + sr.r.int()
	if sr.r.err == nil && (wall < 0 || wall > clock.MaxWall || l < 0 || l > 0xffff) {
		sr.r.fail("timestamp out of range")
	}
	sr.prevTS = clock.Timestamp{Wall: wall, Logical: uint16(l)}
	return clock.Timestamp{Wall: wall, Logical: uint16(l), Replica: rep}
}

func (sr *snapReader) node() *snapNode {
	r := sr.r
	if r.isNil() || r.err != nil {
		return nil
	}
	sr.depth++
	defer func() { sr.depth-- }()
	if sr.depth > maxWireDepth {
		r.fail("nesting deeper than %d", maxWireDepth)
		return nil
	}
	if r.array(3, 1) != 3 {
		r.fail("node must be an array of 3")
		return nil
	}
	n := &snapNode{}
	// A key takes at least 1 byte and its slot 4 more.
	nk := r.array(maxSnapshotKeys, 5)
	n.keys = sr.keys(nk)
	if r.array(maxSnapshotKeys, 4) != nk && r.err == nil {
		r.fail("keys and slots differ in number")
	}
	if r.err != nil {
		return nil
	}
	if nk > 0 {
		slab := make([]snapSlot, nk)
		n.slots = make([]*snapSlot, nk)
		for i := range slab {
			n.slots[i] = &slab[i]
			sr.slot(&slab[i])
			if r.err != nil {
				return nil
			}
		}
	}
	if r.isNil() || r.err != nil {
		return n
	}
	if r.array(3, 1) != 3 {
		r.fail("list must be an array of 3")
		return nil
	}
	l := &snapList{}
	ns := r.array(5*maxSnapshotKeys, 1)
	if ns%5 != 0 {
		r.fail("bad slot list")
		return nil
	}
	l.slots = make([]snapPos, 0, ns/5)
	for range ns / 5 {
		p := snapPos{id: sr.id()}
		side := r.uint()
		switch side {
		case 0:
			r.uint()
			r.uint()
		case 1:
			p.org.Left = sr.id()
		case 2:
			p.org.Right = sr.id()
		default:
			r.fail("bad origin side %d", side)
		}
		if k := len(l.slots); r.err == nil && k > 0 && idCmp(l.slots[k-1].id, p.id) >= 0 {
			r.fail("slots not sorted")
		}
		l.slots = append(l.slots, p)
	}
	nm := r.array(4*maxSnapshotKeys, 1)
	if nm%4 != 0 {
		r.fail("bad moved list")
		return nil
	}
	movedSlots := make(map[OpID]bool, nm/4)
	for range nm / 4 {
		m0 := sr.id()
		l.moved = append(l.moved, [2]OpID{m0, sr.id()})
		if k := len(l.moved); r.err == nil && (movedSlots[m0] || (k > 1 && idCmp(l.moved[k-2][0], m0) >= 0)) {
			r.fail("moved slots not sorted")
		}
		movedSlots[m0] = true
	}
	ne := r.array(maxSnapshotKeys, 5)
	if r.err == nil && ne+len(movedSlots) != len(l.slots) {
		r.fail("%d elements and %d move slots for %d slots", ne, len(movedSlots), len(l.slots))
		return nil
	}
	l.elems = make([]snapElem, 0, ne)
	slab := make([]snapSlot, ne)
	next := 0
	for range ne {
		if r.array(2, 1) != 2 {
			r.fail("element must be an array of 2")
			return nil
		}
		for next < len(l.slots) && movedSlots[l.slots[next].id] {
			next++
		}
		if next >= len(l.slots) {
			r.fail("more elements than slots")
			return nil
		}
		e := snapElem{id: l.slots[next].id}
		next++
		e.pos = e.id
		if !r.isNil() {
			if r.array(4, 1) != 4 {
				r.fail("element position must be an array of 4")
				return nil
			}
			e.pos = sr.id()
			e.posTS = sr.ts(e.pos.Replica)
			if e.pos == e.id && r.err == nil {
				r.fail("explicit position equal to the element")
			}
		}
		e.slot = &slab[len(l.elems)]
		sr.slot(e.slot)
		l.elems = append(l.elems, e)
		if r.err != nil {
			return nil
		}
	}
	n.list = l
	return n
}

// slot reads a register into s.
func (sr *snapReader) slot(s *snapSlot) {
	r := sr.r
	if r.array(3, 1) != 3 {
		r.fail("slot must be an array of 3")
		return
	}
	ne := r.array(5*maxSnapshotKeys, 1)
	if ne%5 != 0 {
		r.fail("bad entry list")
		return
	}
	s.entries = sr.takeEntries(ne / 5)[:0]
	for range ne / 5 {
		e := entry{id: sr.id()}
		e.ts = sr.ts(e.id.Replica)
		e.val = readValue(r, OpSet)
		if i, ok := e.val.AsInt(); ok {
			sr.prevInt += i
			e.val = draft.Int(sr.prevInt)
		}
		if !e.val.IsValid() && r.err == nil {
			r.fail("entry without value")
		}
		if k := len(s.entries); r.err == nil && k > 0 && idCmp(s.entries[k-1].id, e.id) >= 0 {
			r.fail("entries not sorted")
		}
		s.entries = append(s.entries, e)
	}
	if !r.isNil() {
		nc := r.array(maxWireReplicas, 10)
		for range nc {
			if r.array(10, 1) != 10 {
				r.fail("counter contribution must be an array of 10")
				return
			}
			id := sr.id()
			c := contrib{replica: id.Replica, seq: id.Seq}
			c.ts = sr.ts(id.Replica)
			c.i = r.int()
			c.f = r.float()
			c.hasF = r.peek() == 0xc3
			if b := r.byte(); b != 0xc2 && b != 0xc3 && r.err == nil {
				r.fail("expected bool")
			}
			c.remSeq = r.uint()
			c.remI = r.int()
			c.remF = r.float()
			if k := len(s.ctr); r.err == nil && k > 0 && s.ctr[k-1].replica >= c.replica {
				r.fail("counter contributions not sorted")
			}
			if r.err == nil && c.remSeq > c.seq {
				r.fail("counter removal after its last increment")
			}
			s.ctr = append(s.ctr, c)
		}
		if s.ctr == nil {
			s.ctr = []contrib{}
		}
	}
	s.child = sr.node()
}
