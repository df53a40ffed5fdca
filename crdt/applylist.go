package crdt

import (
	"github.com/syncmesh/syncmesh/clock"
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
