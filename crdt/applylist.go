package crdt

import (
	"fmt"
	"iter"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// This file applies the list operations (OpInsert, OpMove) to the
// sequences; apply.go dispatches to it.

// insert applies an OpInsert in list container n: a new element slot
// holding op.Value, placed by op.Origins (already placed by seq.InsertAt
// when local).
func (d *Doc) insert(n *node, op *Op, id OpID, ts clock.Timestamp, local bool) {
	l := n.list()
	if !local {
		if _, err := l.seq.Integrate(id, op.Origins); err != nil {
			return
		}
	}
	if local && d.compactable(n, op.Value) {
		// Seen by nothing yet: a compact element (see compactElems).
		l.addCompact(id, d.lo.cur, &d.lo.elems)
		d.listSlots++
		adjustLive(n.parent, 1)
		n.liveList++
		d.checkImpl(n)
		return
	}
	s := d.lo.elems.next(elemSlab)
	d.lo.elems.take()
	s.owner, s.elem, s.pos = n, id, id
	l.setElem(id, s)
	d.listSlots++
	if local {
		// seq.InsertAt made the slot visible, as touch is about to
		// find it: spare the two walks of hiding and showing it.
		d.shownIns = id
	} else if _, _, err := l.seq.SetVisible(id, false); err != nil {
		panic("crdt: inserted slot missing from its sequence: " + err.Error())
	}
	if k := op.Value.Kind(); (k == draft.IntKind || k == draft.FloatKind) && d.strategy(s).Kind == Counter {
		// A list of counters: the inserted number is the first increment.
		d.increment(s, id, ts, op.Value)
	} else {
		s.addEntry(entry{id: id, ts: ts, val: op.Value})
		adjustLive(s, 1)
	}
	d.touch(s, false)
	d.shownIns = OpID{}
}

// compactable reports whether a local insert of v into list n may make a
// compact element: its register would hold one entry and show v itself,
// as a scalar (v is not a container, and not a number the list's element
// strategy counts), the list is shown, and the insert emits no patch (a
// local change's draft has the item already). What a register with one
// entry shows does not depend on its strategy otherwise (resolve).
func (d *Doc) compactable(n *node, v draft.Value) bool {
	if !d.quiet || n.shown != visList {
		return false
	}
	switch v.Kind() {
	case draft.Invalid, draft.MapKind, draft.ListKind:
		return false
	case draft.IntKind, draft.FloatKind:
		return d.elemStrategy(n).Kind != Counter
	}
	return true
}

// elemStrategy returns the strategy of list n's elements, resolving and
// caching it in the list (as strategy does in a register: rules match an
// element only by a wildcard, so all elements of a list have the same).
func (d *Doc) elemStrategy(n *node) *Strategy {
	l := n.list()
	if l.elemStrat == 0 {
		l.elemStrat = 1
		if d.strat != nil && len(d.strat.rules) > 0 {
			path := make([]Segment, len(n.path)+1)
			copy(path, n.path)
			path[len(path)-1] = Segment{Elem: OpID{Replica: 1, Seq: 1}}
			l.elemStrat = int32(d.strat.ruleFor(path)) + 2
		}
	}
	if l.elemStrat == 1 {
		return &defaultStrategy
	}
	return &d.strat.rules[l.elemStrat-2].strat
}

// move applies an OpMove: a new position slot for element op.Key.Elem, which
// becomes the element's position if its (timestamp, id) is the greatest.
func (d *Doc) move(n *node, op *Op, id OpID, ts clock.Timestamp, local bool) {
	if n.lst == nil {
		return
	}
	l := n.lst
	s := l.elem(op.Key.Elem)
	if s == nil {
		return
	}
	if !local {
		if _, err := l.seq.Integrate(id, op.Origins); err != nil {
			return
		}
	}
	if l.moved == nil {
		l.moved = make(map[OpID]OpID)
	}
	l.moved[id] = s.elem
	d.listSlots++
	if _, _, err := l.seq.SetVisible(id, false); err != nil {
		panic("crdt: move slot missing from its sequence: " + err.Error())
	}
	if !opLess(l.posTS(s), s.pos, ts, id) {
		return
	}
	old := s.pos
	shown := n.shown == visList && s.vis != visNone
	if shown {
		i, _, _ := l.seq.SetVisible(old, false)
		d.emit(draft.OpRemove, n, draft.Index(i), draft.Value{})
	} else {
		_, _, _ = l.seq.SetVisible(old, false)
	}
	l.setPos(s, id, ts)
	if shown {
		i, _, _ := l.seq.SetVisible(id, true)
		v := d.renderSlotValue(s)
		d.emit(draft.OpAdd, n, draft.Index(i), v)
	} else {
		k, _ := d.resolve(s)
		_, _, _ = l.seq.SetVisible(id, k != visNone)
		d.touchMultiAbove(n)
	}
}

// insert inserts v at visible index i of list n.
func (lc *localChange) insert(n *node, i int, v draft.Value) error {
	lc.assert(n)
	l := n.list()
	id := lc.nextID()
	o, err := l.seq.InsertAt(i, id)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPath, err)
	}
	lc.op(OpInsert, n.path, Segment{}, markerOf(v)).Origins = o
	lc.apply(n, nil)
	if k := v.Kind(); k != draft.MapKind && k != draft.ListKind {
		return nil // a scalar: nothing to fill (and maybe a compact element)
	}
	// Doc.insert took the element register from the slab last.
	return lc.fill(lc.d.lo.elems.last(), v)
}

// remove deletes register s (observed-remove).
func (lc *localChange) remove(s *slot) {
	lc.assert(s.owner)
	lc.supersedeAll(lc.op(OpDelete, s.owner.path, s.seg(), draft.Value{}), s)
	lc.apply(s.owner, s)
}

// move moves element s of list n to visible index j (RFC 6902: j counts the
// list without the element).
func (lc *localChange) move(n *node, s *slot, j int) error {
	lc.assert(n)
	l := n.lst
	if _, _, err := l.seq.SetVisible(s.pos, false); err != nil {
		return fmt.Errorf("%w: %v", ErrPath, err)
	}
	id := lc.nextID()
	o, err := l.seq.InsertAt(j, id)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPath, err)
	}
	lc.op(OpMove, n.path, s.seg(), draft.Value{}).Origins = o
	lc.apply(n, nil)
	return nil
}

// listState is a node's list part: the sequence of position slots and the
// element registers.
type listState struct {
	seq   *seq.List
	elems elemIndex
	moved map[OpID]OpID // position slot made by a move -> element
	// moveTS holds the timestamp of each element's winning move (keyed by
	// its position slot; a lost move's entry may stay). An element that
	// never moved keeps its insert's slot as its position with the zero
	// timestamp: every move of it is causally after the insert, so the
	// zero timestamp loses to all of them as the insert's would (snapshots
	// encode it so too). Keeping it here, not in every register, spares a
	// list element 24 bytes.
	moveTS map[OpID]clock.Timestamp
	// compact holds the elements that have no register yet (see
	// compactElems); node is the list's container and room the slab their
	// registers are made from.
	compact compactElems
	node    *node
	room    *slabOf[slot]
	// elemStrat caches the strategy of the list's elements as slot.strat
	// does a register's (0 unresolved, 1 default, k+2 rule k of the
	// document's table); see Doc.elemStrategy.
	elemStrat int32
}

// posTS returns the LWW timestamp of element s's position (zero while it
// is the element's own insert slot).
func (l *listState) posTS(s *slot) clock.Timestamp {
	if s.pos == s.elem {
		return clock.Timestamp{}
	}
	return l.moveTS[s.pos]
}

// setPos makes p (stamped ts; a move's slot, or the element's own insert
// slot with the zero timestamp) element s's position.
func (l *listState) setPos(s *slot, p OpID, ts clock.Timestamp) {
	s.pos = p
	if p == s.elem {
		return
	}
	if l.moveTS == nil {
		l.moveTS = make(map[OpID]clock.Timestamp)
	}
	l.moveTS[p] = ts
}

func (n *node) list() *listState {
	if n.lst == nil {
		n.lst = &listState{seq: seq.New(), node: n}
	}
	return n.lst
}

// elemAt returns the element owning position slot p.
func (l *listState) elemAt(p OpID) *slot {
	if s := l.elem(p); s != nil {
		return s
	}
	if e, ok := l.moved[p]; ok {
		return l.elem(e)
	}
	return nil
}

// elem returns element e's register (nil if the list has no element e),
// making it first if e is a compact element.
func (l *listState) elem(e OpID) *slot {
	h := l.seq.Handle(e)
	if s := l.elems.get(h); s != nil || l.compact.n == 0 {
		return s
	}
	return l.expand(h, e)
}

// setElem records s as the register of element e, whose insert's slot is
// in the sequence.
func (l *listState) setElem(e OpID, s *slot) {
	h := l.seq.Handle(e)
	if h == 0 {
		panic("crdt: broken invariant: a list element without its insert's slot")
	}
	if l.compact.n > 0 && l.compact.at(h) != nil {
		panic("crdt: broken invariant: a register set for a compact element")
	}
	l.elems.set(h, s)
}

// numElems returns the number of elements (registers and compact ones).
func (l *listState) numElems() int { return l.elems.n + l.compact.n }

// all yields every element register, in no particular order, making the
// compact elements' registers first.
func (l *listState) all() iter.Seq[*slot] {
	return func(yield func(*slot) bool) {
		l.expandAll()
		for _, pg := range l.elems.pages {
			for _, s := range pg {
				if s != nil && !yield(s) {
					return
				}
			}
		}
	}
}

// elemIndex holds a list's element registers by the handle of the
// element's insert slot (seq.Handle): a page lookup where a Go map keyed
// by OpID hashed every id, rehashed as it grew (a fifth of a local
// insert's crdt half) and kept about 85 bytes per element; this keeps 8.
// Handles are dense per list, so pages fill whatever else the replica
// writes between its inserts. The first page grows by doubling up to
// elemPage (a short list stays small); later pages are made whole.
type elemIndex struct {
	pages [][]*slot
	n     int // non-nil entries
}

const (
	elemPageBits = 8
	elemPage     = 1 << elemPageBits // registers per page: 2 KiB
)

// get returns the register at handle h (nil if none).
func (x *elemIndex) get(h seq.Handle) *slot {
	p, i := int(h>>elemPageBits), int(h&(elemPage-1))
	if p >= len(x.pages) || i >= len(x.pages[p]) {
		return nil
	}
	return x.pages[p][i]
}

// set records s (not nil) at handle h (not 0).
func (x *elemIndex) set(h seq.Handle, s *slot) {
	at := pageItem(&x.pages, h)
	if *at == nil {
		x.n++
	}
	*at = s
}

// pageItem returns the item at handle h of pages (handles run in pages of
// elemPage), making its page, or growing it, if needed. The first page
// grows by doubling up to elemPage (a short list stays small); later pages
// are made whole.
func pageItem[T any](pages *[][]T, h seq.Handle) *T {
	p, i := int(h>>elemPageBits), int(h&(elemPage-1))
	for p >= len(*pages) {
		*pages = append(*pages, nil)
	}
	pg := (*pages)[p]
	if i >= len(pg) {
		size := elemPage
		if p == 0 {
			size = min(max(2*len(pg), i+1, 8), elemPage)
		}
		grown := make([]T, size)
		copy(grown, pg)
		(*pages)[p], pg = grown, grown
	}
	return &pg[i]
}
