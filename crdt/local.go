package crdt

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/syncmesh/syncmesh/draft"
)

// This file turns local draft patches (index-based, RFC 6902 intent) into
// operations (element-identity-based), applying each at once so the next
// patch resolves against the state it was made on.

func (d *Doc) commitLocal(next draft.Value, patches []draft.Patch) (*Change, error) {
	if err := d.checkLocal(patches); err != nil {
		return nil, err
	}
	// The change and its first op carved from slabs: most changes are
	// one write. Fields are set one by one: the room is fresh (zero)
	// memory, and copying a whole Change or Op into it costs a bulk write
	// barrier while the GC marks.
	c := d.lo.changes.next(localChangeSlab)
	d.lo.changes.take()
	c.Replica = d.cfg.Replica
	c.StartSeq = d.vv[d.cfg.Replica] + 1
	c.Timestamp = d.clk.Now()
	var room *Op // the first op's room, taken only if the change keeps it
	if len(patches) > 1 {
		c.Ops = make([]Op, 0, len(patches))
	} else {
		room = d.lo.ops.next(localOpSlab)
		c.Ops = d.lo.ops.room()
	}
	lc := localChange{d: d, c: c, exact: true, asserted: d.asserted[:0], spare: d.lo.preds}
	d.lo.cur = c
	d.quiet = true
	for i := range patches {
		if err := lc.patch(&patches[i]); err != nil {
			// The patches applied to the state, so this is a bug here.
			panic(fmt.Sprintf("crdt: local patch %d (%s %s) did not convert: %v", i, patches[i].Op, patches[i].Path, err))
		}
	}
	d.quiet = false
	if len(lc.spare) != len(d.lo.preds) || (len(lc.spare) > 0 && &lc.spare[0] != &d.lo.preds[0]) {
		d.lo.preds = lc.spare // took room, or a new chunk
	}
	if len(lc.asserted) > 0 {
		clear(lc.asserted)
		if cap(lc.asserted) > cap(d.asserted) {
			d.asserted = lc.asserted[:0] // grew; else it is d.asserted's array
		}
	}
	if lc.exact {
		d.state = next
	} else {
		// Float counter arithmetic: show exactly what the registers hold,
		// as every other replica will.
		d.state = d.renderNode(d.root, visMap, false)
	}
	if room != nil {
		d.lo.keep(c, room)
	}
	if len(lc.c.Ops) == 0 {
		return nil, nil
	}
	d.vv[lc.c.Replica] = lc.c.EndSeq()
	d.log.append(lc.c)
	d.stats.Applied++
	return lc.c, nil
}

// checkLocal rejects patches that reach inside a MultiValue register showing
// several siblings: the sibling list is a view, not a container; resolve the
// conflict by writing the register itself.
func (d *Doc) checkLocal(patches []draft.Patch) error {
	for i := range patches {
		p := &patches[i]
		if p.Op != draft.OpTest && (len(p.Path) == 0 || ((p.Op == draft.OpMove || p.Op == draft.OpCopy) && len(p.From) == 0)) {
			return fmt.Errorf("%w: patch %d (%s) addresses the root; change its keys instead", ErrPath, i, p.Op)
		}
	}
	if !d.lo.hasMulti(d.strat) {
		return nil
	}
	for i := range patches {
		for _, p := range []draft.Path{patches[i].Path, patches[i].From} {
			if err := d.checkInsideMulti(p, patches[:i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Doc) checkInsideMulti(p draft.Path, earlier []draft.Patch) error {
	n := d.root
	for k, sg := range p {
		if n == nil || n.shown == visNone {
			return nil
		}
		s, err := d.visibleSlot(n, sg)
		if err != nil {
			return nil // draft has validated the path; it is new
		}
		if s.vis == visMulti && k < len(p)-1 {
			for _, e := range earlier {
				if e.Path.Equal(p[:k+1]) {
					return nil
				}
			}
			return fmt.Errorf("%w: %s is inside the concurrent values of %s; write %s to resolve them",
				ErrPath, p, p[:k+1], p[:k+1])
		}
		n = s.child
	}
	return nil
}

// localRoom hands out local changes and their first ops from slabs: one
// allocation per slab instead of one each. Slabs grow from 3 items to
// about 64 KiB (a large object whose fresh pages need no clearing), so a
// document that makes few changes holds little room. Pred lists are carved
// from their own pointer-free chunks (preds), so a change that supersedes
// nothing (an increment, an insert) takes no room for one, and a one-op
// change whose op equals the previous one-op change's (the same increment
// again, say) shares that op, which ids do not depend on, and takes no op
// room: the op log keeps every local change (by pointer: encoding them
// at commit instead measured slower for W1, W3 and W4, see
// docs/benchmarks.md), and a first touch of fresh memory is dear. A slab
// or chunk lives while any of its changes does (the op log, or a caller
// holding a change); the log drops an author's changes oldest first, so a
// slab's changes, which are consecutive, go together.
type localRoom struct {
	changes slabOf[Change]
	ops     slabOf[Op]
	last    []Op   // the previous one-op change's ops, if shareable
	preds   []OpID // unused room for Pred lists (see localChange.spare)
	multi   int8   // whether the strategy table uses MultiValue: 0 not known yet, 1 no, 2 yes

	// elems hands out list element registers (Doc.insert, local and
	// remote): element registers are never dropped (tombstones stay), so
	// a slab lives as long as its list does anyway.
	elems slabOf[slot]
	// cur is the local change being made (or the last one made): a local
	// insert's compact element points to it (see compactElems).
	cur *Change
}

// Slab sizes, in items: 1,023 x 64, 371 x 176 and 341 x 192 bytes, under
// 64 KiB.
const (
	localChangeSlab = 1023
	localOpSlab     = 371
	elemSlab        = 341
)

// slabOf carves zeroed items from slabs that grow from 3 items to a
// maximum. Taking an item moves a count, not a slice: the slice is a
// pointer in the heap, and writing one costs a write barrier while the GC
// marks.
type slabOf[T any] struct {
	slab []T // the current slab: its items from used on are free
	used int
}

// next returns the next zeroed item without taking it.
func (s *slabOf[T]) next(maxItems int) *T {
	if s.used == len(s.slab) {
		s.slab = make([]T, min(max(2*len(s.slab)+1, 3), maxItems))
		s.used = 0
	}
	return &s.slab[s.used]
}

// take takes the item next returned.
func (s *slabOf[T]) take() { s.used++ }

// last returns the item taken last (there is one).
func (s *slabOf[T]) last() *T { return &s.slab[s.used-1] }

// room returns an empty slice whose room is the item next returned.
func (s *slabOf[T]) room() []T { return s.slab[s.used : s.used : s.used+1] }

// keep settles the first op's room after change c was made in it: a lone
// op equal to the previous lone op is replaced by that one (the room is
// cleared and stays free); a lone op keeps its room; ops that outgrew the
// room (they moved to a larger array) leave it free.
func (r *localRoom) keep(c *Change, room *Op) {
	if len(c.Ops) == 1 && r.last != nil && &c.Ops[0] == &r.last[0] {
		return // reuseLast shared it; the room was never written
	}
	if len(c.Ops) != 1 || &c.Ops[0] != room {
		*room = Op{}
		r.last = nil
		return
	}
	if !shareable(room) {
		r.ops.take()
		if r.last != nil {
			r.last = nil // a pointer write costs a barrier while the GC marks
		}
		return
	}
	if r.last != nil && sameOp(&r.last[0], room) {
		*room = Op{}
		c.Ops = r.last
		return
	}
	r.ops.take()
	r.last = c.Ops
}

// shareable reports whether op names no other op (no Pred, Ctx, Marks or
// Origins), so that equal ops of different changes are the same operation.
func shareable(op *Op) bool {
	return len(op.Pred) == 0 && op.Ctx == nil && len(op.Marks) == 0 && op.Origins.Left.IsZero() && op.Origins.Right.IsZero()
}

// sameOp reports whether shareable ops a and b are equal.
func sameOp(a, b *Op) bool { return opIs(a, b.Kind, b.Path, b.Key, b.Value) }

// opIs reports whether shareable op a is the op (kind, path, key, v) with
// nothing else set.
func opIs(a *Op, kind OpKind, path []Segment, key Segment, v draft.Value) bool {
	if a.Kind != kind || a.Key != key || len(a.Path) != len(path) || a.Value.Kind() != v.Kind() {
		return false
	}
	for i := range a.Path {
		if a.Path[i] != path[i] {
			return false
		}
	}
	if x, ok := a.Value.AsFloat(); ok && a.Value.Kind() == draft.FloatKind {
		y, _ := v.AsFloat()
		return math.Float64bits(x) == math.Float64bits(y) // -0 is not 0 here
	}
	return a.Value.Equal(v)
}

// localPredChunk is the length of a chunk of Pred room (16 KiB), and
// localPredMax the longest Pred list carved from one.
const (
	localPredChunk = 1024
	localPredMax   = 64
)

// hasMulti reports whether st (the document's table, fixed after New)
// uses MultiValue, asking it once.
func (r *localRoom) hasMulti(st *Strategies) bool {
	if r.multi == 0 {
		r.multi = 1
		if st.has(MultiValue) {
			r.multi = 2
		}
	}
	return r.multi == 2
}

type localChange struct {
	d        *Doc
	c        *Change
	exact    bool    // the produced state equals what the registers show
	asserted []*node // containers made explicit (or found so) already
	spare    []OpID  // unused room for Pred lists (localRoom.preds)
}

// assert makes the containers above and at n explicit: a container shown
// only because something inside it is live (its marker was removed
// concurrently) gets a marker, so the author's edit inside keeps it as the
// author saw it (an emptied list stays an empty list).
//
// An explicit container is passed over without being recorded, so the
// common change (one write into explicit containers) records nothing and
// has nothing to clear; a container that needed a marker is recorded, and
// the walk stops there when a later patch of the change reaches it again.
func (lc *localChange) assert(n *node) {
	for s := n.parent; s != nil; s = s.owner.parent {
		want, marker := draft.MapKind, draft.EmptyMap()
		if s.vis == visList {
			want, marker = draft.ListKind, draft.EmptyList()
		}
		explicit := false
		for _, e := range s.entries {
			if e.val.Kind() == want {
				explicit = true
				break
			}
		}
		if explicit {
			continue
		}
		if slices.Contains(lc.asserted, s.child) {
			return
		}
		lc.asserted = append(lc.asserted, s.child)
		lc.op(OpSet, s.owner.path, s.seg(), marker)
		lc.apply(s.owner, s)
	}
}

// op appends a new op to the change and returns it for the caller to
// complete (Pred, Ctx, Marks, Origins) before apply. It is built in place:
// the change's ops past its length are zero (fresh memory that only op
// extends), and writing fields costs less than copying a whole Op into the
// heap, which takes a bulk write barrier while the GC marks.
func (lc *localChange) op(kind OpKind, path []Segment, key Segment, v draft.Value) *Op {
	ops := lc.c.Ops
	if len(ops) < cap(ops) {
		ops = ops[:len(ops)+1]
	} else {
		ops = append(ops, Op{})
	}
	lc.c.Ops = ops
	op := &ops[len(ops)-1]
	op.Kind, op.Path, op.Key, op.Value = kind, path, key, v
	return op
}

// apply applies the change's last op, made in container n (for register
// s, or nil). The version vector moves once, at the end of the change
// (commitLocal): applying an op never reads it, and supersedeAll adds the
// change's own applied ops to the context it copies.
func (lc *localChange) apply(n *node, s *slot) {
	i := len(lc.c.Ops) - 1
	lc.d.applyOpIn(n, s, &lc.c.Ops[i], lc.c.ID(i), lc.c.Timestamp, true)
}

// reuseLast makes the previous one-op change's op this change's first op
// if it is the op (kind, path, key, v) with nothing else set, and reports
// whether it did: the same increment again then writes no op room at all
// (keep's later sharing would write it, then clear it). The caller adds
// nothing to the op; a later op of the change moves the ops to an array of
// their own (append to a full slice) and so unshares them.
func (lc *localChange) reuseLast(kind OpKind, path []Segment, key Segment, v draft.Value) bool {
	last := lc.d.lo.last
	if last == nil || len(lc.c.Ops) != 0 || cap(lc.c.Ops) != 1 {
		return false
	}
	if !opIs(&last[0], kind, path, key, v) {
		return false
	}
	lc.c.Ops = last
	return true
}

func (lc *localChange) nextID() OpID {
	return OpID{Replica: lc.c.Replica, Seq: lc.c.StartSeq + uint64(len(lc.c.Ops))}
}

// container resolves the visible container holding the last segment of p.
func (d *Doc) container(p draft.Path) (*node, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: the root cannot be replaced or removed", ErrPath)
	}
	n := d.root
	for _, sg := range p[:len(p)-1] {
		s, err := d.visibleSlot(n, sg)
		if err != nil {
			return nil, err
		}
		if s.vis != visMap && s.vis != visList {
			return nil, fmt.Errorf("%w: %s is not a container", ErrPath, p)
		}
		n = s.child
	}
	return n, nil
}

// visibleSlot returns the register shown at segment sg of shown container n.
func (d *Doc) visibleSlot(n *node, sg draft.Segment) (*slot, error) {
	if n.shown == visList {
		i, ok := listIndex(sg)
		if !ok || n.lst == nil {
			return nil, fmt.Errorf("%w: %q is not a list index", ErrPath, sg.Token())
		}
		p, err := n.lst.seq.At(i)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPath, err)
		}
		return n.lst.elemAt(p), nil
	}
	s := n.keys[sg.Token()]
	if s == nil || s.vis == visNone {
		return nil, fmt.Errorf("%w: no key %q", ErrPath, sg.Token())
	}
	return s, nil
}

func listIndex(sg draft.Segment) (int, bool) {
	if i, ok := sg.AsIndex(); ok {
		return i, i >= 0
	}
	if sg.IsEnd() {
		return 0, false
	}
	t := sg.Token()
	if t == "" || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(t)
	return i, err == nil && i >= 0
}

func (lc *localChange) patch(p *draft.Patch) error {
	d := lc.d
	switch p.Op {
	case draft.OpTest:
		return nil
	case draft.OpAdd, draft.OpReplace:
		n, err := d.container(p.Path)
		if err != nil {
			return err
		}
		last := p.Path[len(p.Path)-1]
		if n.shown == visList {
			if p.Op == draft.OpAdd {
				i, ok := listIndex(last)
				if last.IsEnd() {
					i, ok = n.list().seq.Len(), true
				}
				if !ok {
					return fmt.Errorf("%w: bad list index %q", ErrPath, last.Token())
				}
				return lc.insert(n, i, p.Value)
			}
			s, err := d.visibleSlot(n, last)
			if err != nil {
				return err
			}
			return lc.write(s, p.Value, p.Delta)
		}
		return lc.write(d.slotIn(n, KeySeg(last.Token())), p.Value, p.Delta)
	case draft.OpRemove:
		n, err := d.container(p.Path)
		if err != nil {
			return err
		}
		s, err := d.visibleSlot(n, p.Path[len(p.Path)-1])
		if err != nil {
			return err
		}
		lc.remove(s)
		return nil
	case draft.OpMove, draft.OpCopy:
		from, err := d.container(p.From)
		if err != nil {
			return err
		}
		to, err := d.container(p.Path)
		if err != nil {
			return err
		}
		fs, err := d.visibleSlot(from, p.From[len(p.From)-1])
		if err != nil {
			return err
		}
		if p.Op == draft.OpMove && from == to && from.shown == visList {
			j, ok := listIndex(p.Path[len(p.Path)-1])
			if p.Path[len(p.Path)-1].IsEnd() {
				j, ok = from.lst.seq.Len()-1, true
			}
			if !ok {
				return fmt.Errorf("%w: bad list index", ErrPath)
			}
			return lc.move(from, fs, j)
		}
		v := d.renderNodeValue(fs)
		if p.Op == draft.OpMove {
			lc.remove(fs)
		}
		return lc.patch(&draft.Patch{Op: draft.OpAdd, Path: p.Path, Value: v})
	}
	return fmt.Errorf("%w: unknown patch op %q", ErrPath, p.Op)
}

// renderNodeValue returns what shown register s shows, detached.
func (d *Doc) renderNodeValue(s *slot) draft.Value {
	switch s.vis {
	case visMap, visList:
		return d.renderNode(s.child, s.vis, false)
	}
	return s.visVal
}

// supersedeAll fills op with everything the author sees at s.
func (lc *localChange) supersedeAll(op *Op, s *slot) {
	if n := len(s.entries); n > 0 {
		if n > len(lc.spare) && n <= localPredMax {
			lc.spare = make([]OpID, localPredChunk)
		}
		if n <= len(lc.spare) {
			op.Pred, lc.spare = lc.spare[:n:n], lc.spare[n:]
		} else {
			op.Pred = make([]OpID, n)
		}
		for i := range s.entries {
			op.Pred[i] = s.entries[i].id
		}
	}
	if s.ctr != nil { // else no marks: spare the pointer write (a barrier while the GC marks)
		op.Marks = counterMarks(s, nil, op.Marks)
	}
	if s.child != nil && s.child.liveMap+s.child.liveList > 0 {
		op.Ctx = lc.d.vv.Clone()
		// op is the change's last op; the ones before it are applied.
		if k := len(lc.c.Ops) - 1; k > 0 {
			op.Ctx[lc.c.Replica] = lc.c.StartSeq + uint64(k) - 1
		}
		op.Marks = nodeMarks(s.child, []Segment{}, op.Marks)
	}
}

func counterMarks(s *slot, rel []Segment, out []CounterMark) []CounterMark {
	if s.ctr == nil {
		return out
	}
	for _, c := range s.ctr.contribs {
		if c.live() {
			out = append(out, CounterMark{Rel: rel, Replica: c.replica, Seq: c.seq, Int: c.i, Float: c.f})
		}
	}
	return out
}

func nodeMarks(n *node, rel []Segment, out []CounterMark) []CounterMark {
	each := func(s *slot) {
		r := append(rel[:len(rel):len(rel)], s.seg())
		out = counterMarks(s, r, out)
		if s.child != nil {
			out = nodeMarks(s.child, r, out)
		}
	}
	for _, s := range n.keys {
		each(s)
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			each(s)
		}
	}
	return out
}

// write sets register s to v (a whole value: containers are written as a
// marker plus their contents).
func (lc *localChange) write(s *slot, v, delta draft.Value) error {
	d := lc.d
	if !v.IsValid() {
		return fmt.Errorf("%w: no value", ErrPath)
	}
	n := s.owner
	lc.assert(n)
	if st := d.strategy(s); st.Kind == Counter {
		if f, ok := v.AsFloat(); ok {
			clean := len(s.entries) == 0 && (s.child == nil || s.child.liveMap+s.child.liveList == 0)
			if !clean {
				lc.supersedeAll(lc.op(OpDelete, n.path, s.seg(), draft.Value{}), s)
				lc.apply(n, s)
				delta = v
			} else if !delta.IsValid() {
				cur := draft.Int(0)
				if s.ctr != nil {
					cur, _, _, _ = s.ctr.value()
				}
				ci, cok := cur.AsInt()
				vi, vok := v.AsInt()
				if cok && vok {
					delta = draft.Int(vi - ci)
				} else {
					cf, _ := cur.AsFloat()
					delta = draft.Float(f - cf)
				}
			}
			if delta.Kind() == draft.FloatKind || (s.ctr != nil && hasFloat(s.ctr)) {
				lc.exact = false
			}
			if !lc.reuseLast(OpInc, n.path, s.seg(), delta) {
				lc.op(OpInc, n.path, s.seg(), delta)
			}
			lc.apply(n, s)
			return nil
		}
	}
	lc.supersedeAll(lc.op(OpSet, n.path, s.seg(), markerOf(v)), s)
	lc.apply(n, s)
	return lc.fill(s, v)
}

func hasFloat(c *counter) bool {
	for _, x := range c.contribs {
		if x.hasF {
			return true
		}
	}
	return false
}

// markerOf returns v, or an empty container of v's kind.
func markerOf(v draft.Value) draft.Value {
	switch v.Kind() {
	case draft.MapKind:
		return draft.EmptyMap()
	case draft.ListKind:
		return draft.EmptyList()
	}
	return v
}

// fill writes a container value's contents below register s.
func (lc *localChange) fill(s *slot, v draft.Value) error {
	switch v.Kind() {
	case draft.MapKind:
		if v.Len() == 0 {
			return nil
		}
		n := lc.d.ensureChild(s)
		for k, x := range v.Range() {
			if err := lc.write(lc.d.slotIn(n, KeySeg(k)), x, draft.Value{}); err != nil {
				return err
			}
		}
	case draft.ListKind:
		if v.Len() == 0 {
			return nil
		}
		n := lc.d.ensureChild(s)
		for i, x := range v.Items() {
			if err := lc.insert(n, i, x); err != nil {
				return err
			}
		}
	}
	return nil
}
