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
	s := d.lo.elems.next(elemSlab)
	d.lo.elems.take()
	s.owner, s.elem, s.pos, s.posTS = n, id, id, ts
	l.elems[id] = s
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

// move applies an OpMove: a new position slot for element op.Key.Elem, which
// becomes the element's position if its (timestamp, id) is the greatest.
func (d *Doc) move(n *node, op *Op, id OpID, ts clock.Timestamp, local bool) {
	if n.lst == nil {
		return
	}
	l := n.lst
	s := l.elems[op.Key.Elem]
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
	if !opLess(s.posTS, s.pos, ts, id) {
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
	s.pos, s.posTS = id, ts
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
	elems map[OpID]*slot
	moved map[OpID]OpID // position slot made by a move -> element
}

func (n *node) list() *listState {
	if n.lst == nil {
		n.lst = &listState{seq: seq.New(), elems: make(map[OpID]*slot)}
	}
	return n.lst
}

// elemAt returns the element owning position slot p.
func (l *listState) elemAt(p OpID) *slot {
	if s, ok := l.elems[p]; ok {
		return s
	}
	if e, ok := l.moved[p]; ok {
		return l.elems[e]
	}
	return nil
}

// elem returns element e's register (nil if the list has no element e).
func (l *listState) elem(e OpID) *slot { return l.elems[e] }

// all yields every element register, in no particular order.
func (l *listState) all() iter.Seq[*slot] {
	return func(yield func(*slot) bool) {
		for _, s := range l.elems {
			if !yield(s) {
				return
			}
		}
	}
}
