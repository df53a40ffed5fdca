package crdt

import (
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// This file applies single operations to the registers. Callers guarantee
// causal readiness (every id an op references is applied, see ready) and
// that the op is not applied yet; applyOp then never fails on a
// well-formed op, and an op whose references are dangling (they name an op
// that exists but is not an element) is a no-op on every replica alike.

// nodeAt walks a container path, creating map registers and nodes as
// needed. It returns nil if an element on the way does not exist.
func (d *Doc) nodeAt(path []Segment) *node {
	n := d.root
	for _, sg := range path {
		var s *slot
		if c := n.step; c != nil && !sg.IsElem() && c.key == sg.Key && c.holds() {
			s = c
		} else if s = d.slotIn(n, sg); s == nil {
			return nil
		} else if !sg.IsElem() {
			n.step = s
		}
		n = d.ensureChild(s)
	}
	return n
}

// slotIn returns n's register for sg, creating map registers. Elements exist
// only once inserted.
func (d *Doc) slotIn(n *node, sg Segment) *slot {
	if sg.IsElem() {
		if n.lst == nil {
			return nil
		}
		return n.lst.elem(sg.Elem)
	}
	s := n.keys[sg.Key]
	if s == nil {
		s = &slot{owner: n, key: sg.Key}
		n.keys[sg.Key] = s
	}
	return s
}

// remoteSlot is slotIn for a remote op's register: a map key is looked up
// in n's cache of recently used registers first (see hotSlots).
func (d *Doc) remoteSlot(n *node, sg Segment) *slot {
	if sg.IsElem() {
		return d.slotIn(n, sg)
	}
	h := keyHash(sg.Key)
	if s := n.hot.find(h, sg.Key); s != nil {
		return s
	}
	s := d.slotIn(n, sg)
	n.hot.remember(h, s, len(n.keys))
	return s
}

func (d *Doc) applyOp(op *Op, id OpID, ts clock.Timestamp, local bool) {
	if n := d.nodeAt(op.Path); n != nil {
		d.applyOpIn(n, nil, op, id, ts, local)
	}
}

// applyOpIn is applyOp in container n (the node at op.Path), with s the
// register op.Key names if the caller has it (local changes), else nil.
func (d *Doc) applyOpIn(n *node, s *slot, op *Op, id OpID, ts clock.Timestamp, local bool) {
	switch op.Kind {
	case OpSet, OpDelete:
		if s == nil {
			s = d.remoteSlot(n, op.Key)
		}
		if s == nil {
			return
		}
		if op.Kind == OpSet && len(op.Pred) == 1 && op.Ctx == nil && len(op.Marks) == 0 {
			// The common overwrite of one entry the author had seen (the
			// register's only one, or one of concurrent writes): replaced
			// in place, the live counts unchanged, unless the register
			// also holds another entry of the author, which the implicit
			// rule removes (see supersede). The order of a register's
			// entries means nothing (every reader orders them).
			if k := inPlace(s.entries, op.Pred[0], id); k >= 0 {
				e := &s.entries[k]
				e.id, e.ts, e.val = id, ts, op.Value
				if p := op.Pred[0]; p.Replica == id.Replica {
					d.log.overwrote(p, id)
				}
				d.touch(s, false)
				return
			}
		}
		force := d.supersede(s, op, id)
		if op.Kind == OpSet {
			s.addEntry(entry{id: id, ts: ts, val: op.Value})
			adjustLive(s, 1)
		}
		s.shrink()
		d.touch(s, force)
	case OpInc:
		if s == nil {
			s = d.remoteSlot(n, op.Key)
		}
		if s == nil {
			return
		}
		d.increment(s, id, ts, op.Value)
		d.touch(s, false)
	case OpInsert:
		d.insert(n, op, id, ts, local)
	case OpMove:
		d.move(n, op, id, ts, local)
	}
}

// inPlace returns the index of the entry pred among entries when the
// in-place overwrite applies: no other entry is by id's author (else -1,
// as when pred is not there).
func inPlace(entries []entry, pred, id OpID) int {
	at := -1
	for k := range entries {
		switch e := entries[k].id; {
		case e == pred:
			at = k
		case e.Replica == id.Replica:
			return -1
		}
	}
	return at
}

// supersede removes what op (id) removes at s: the entries in Pred, the
// entries of op's author older than op (the implicit same-author rule:
// the author had seen them, so each is in Pred or was removed by an op
// the author had seen; docs/semantics.md rule 1), the counter
// contributions in Marks, and with Ctx everything below s that Ctx
// covers. It reports whether anything below s changed. Entries of op's
// author that it removes are reported to the log (elision, elide.go).
func (d *Doc) supersede(s *slot, op *Op, id OpID) bool {
	removed := 0
	plain := op.Kind == OpSet && op.Ctx == nil && len(op.Marks) == 0
	for _, p := range op.Pred {
		if p.Replica != id.Replica {
			plain = false
		}
		for k := range s.entries {
			if s.entries[k].id == p {
				s.entries = append(s.entries[:k], s.entries[k+1:]...)
				removed++
				if p.Replica == id.Replica {
					d.log.overwritten(p, id)
				}
				break
			}
		}
	}
	k := 0
	for _, e := range s.entries {
		own := e.id.Replica == id.Replica && e.id.Seq < id.Seq
		if own || (op.Ctx != nil && op.Ctx.Covers(e.id)) {
			removed++
			if own {
				d.log.overwritten(e.id, id)
			}
			continue
		}
		s.entries[k] = e
		k++
	}
	clear(s.entries[k:])
	s.entries = s.entries[:k]
	if plain {
		d.log.plain(id)
	}
	if removed > 0 {
		adjustLive(s, -removed)
	}
	below := false
	for i := range op.Marks {
		m := &op.Marks[i]
		t := s
		for _, sg := range m.Rel {
			if t.child == nil {
				t = nil
				break
			}
			if t = d.slotIn(t.child, sg); t == nil {
				break
			}
		}
		if t == nil || t.ctr == nil {
			continue
		}
		if d.unmark(t, m) && t != s {
			below = true
		}
	}
	if op.Ctx != nil && s.child != nil {
		if d.clearNode(s.child, op.Ctx) {
			below = true
		}
	}
	return below
}

// unmark applies a counter mark to register t; it reports a change.
func (d *Doc) unmark(t *slot, m *CounterMark) bool {
	k, ok := t.ctr.find(m.Replica)
	if !ok {
		return false
	}
	c := &t.ctr.contribs[k]
	if m.Seq <= c.remSeq {
		return false
	}
	was := c.live()
	c.remSeq, c.remI, c.remF = m.Seq, m.Int, m.Float
	if was && !c.live() {
		adjustLive(t, -1)
	}
	return true
}

// clearNode removes every entry below n that ctx covers. It keeps list
// visibility flags in step. It reports whether anything was removed.
func (d *Doc) clearNode(n *node, ctx VersionVector) bool {
	changed := false
	each := func(s *slot) {
		k := 0
		for _, e := range s.entries {
			if ctx.Covers(e.id) {
				continue
			}
			s.entries[k] = e
			k++
		}
		if r := len(s.entries) - k; r > 0 {
			clear(s.entries[k:])
			s.entries = s.entries[:k]
			s.shrink()
			adjustLive(s, -r)
			changed = true
		}
		if s.child != nil && d.clearNode(s.child, ctx) {
			changed = true
		}
	}
	for _, s := range n.keys {
		each(s)
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			each(s)
			settle(s)
			k, _ := d.resolve(s)
			if _, _, err := n.lst.seq.SetVisible(s.pos, k != visNone); err != nil {
				panic("crdt: element position missing from its sequence: " + err.Error())
			}
		}
	}
	// The caller re-renders the top of the cleared subtree; record the
	// inner nodes' liveness as settled so later transitions are noticed.
	n.impl = n.implFlags()
	return changed
}

// increment adds delta to replica id.Replica's contribution at s.
func (d *Doc) increment(s *slot, id OpID, ts clock.Timestamp, delta draft.Value) {
	if s.ctr == nil {
		s.ctr = newCounter()
	}
	k, ok := s.ctr.find(id.Replica)
	if !ok {
		s.ctr.contribs = append(s.ctr.contribs, contrib{})
		copy(s.ctr.contribs[k+1:], s.ctr.contribs[k:])
		s.ctr.contribs[k] = contrib{replica: id.Replica}
	}
	c := &s.ctr.contribs[k]
	was := c.live()
	switch delta.Kind() {
	case draft.IntKind:
		i, _ := delta.AsInt()
		c.i += i
	default:
		f, _ := delta.AsFloat()
		c.f += f
		c.hasF = true
	}
	c.seq, c.ts = id.Seq, ts
	if !was {
		adjustLive(s, 1)
	}
}

// renderSlotValue returns the value a shown register currently shows.
func (d *Doc) renderSlotValue(s *slot) draft.Value {
	switch s.vis {
	case visMap, visList:
		return d.renderNode(s.child, s.vis, true)
	}
	return s.visVal
}
