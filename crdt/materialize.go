package crdt

import (
	"slices"

	"github.com/syncmesh/syncmesh/draft"
)

// This file keeps the materialised state (Doc.state) in step with the CRDT
// registers, incrementally: after an op changes a register, touch works out
// what the register now shows and emits the visible patch for it.

// strategy returns the register's strategy, resolving and caching it.
func (d *Doc) strategy(s *slot) *Strategy {
	if s.strat == 0 {
		s.strat = 1
		if d.strat != nil && len(d.strat.rules) > 0 {
			path := make([]Segment, len(s.owner.path)+1)
			copy(path, s.owner.path)
			path[len(path)-1] = s.seg()
			s.strat = int32(d.strat.ruleFor(path)) + 2
		}
	}
	if s.strat == 1 {
		return &defaultStrategy
	}
	return &d.strat.rules[s.strat-2].strat
}

var defaultStrategy = Strategy{Kind: LastWriterWins}

// resolve computes what register s shows. For containers it returns the
// kind only (render produces the value); for visMulti it renders the sibling
// list without marking anything shown.
func (d *Doc) resolve(s *slot) (visKind, draft.Value) {
	// Fast path: one entry, nothing else.
	if len(s.entries) == 1 && s.child == nil && s.ctr == nil {
		v := s.entries[0].val
		switch v.Kind() {
		case draft.MapKind:
			return visMap, draft.Value{}
		case draft.ListKind:
			return visList, draft.Value{}
		}
		return visScalar, v
	}
	// A counter alone (Counter paths): its sum is the only candidate.
	if len(s.entries) == 0 && s.child == nil && s.ctr != nil {
		if v, ok := s.ctr.sum(); ok {
			return visScalar, v
		}
		return visNone, draft.Value{}
	}
	if s.child == nil && s.ctr == nil {
		if v, ok := d.newestScalar(s); ok {
			return visScalar, v
		}
	}
	cs := s.candidates(d.cbuf[:0])
	d.cbuf = cs[:0]
	st := d.strategy(s)
	k, i := choose(st, cs)
	switch {
	case k == visMulti:
		cs = slices.Clone(cs) // rendering siblings below reuses d.cbuf
		sortCands(cs)
		items := make([]draft.Value, len(cs))
		for j := range cs {
			items[j] = d.candValue(s, &cs[j])
		}
		return visMulti, draft.ListOf(items...)
	case i == -2:
		return visScalar, foldCustom(st.Merge, cs)
	case k == visScalar:
		return visScalar, cs[i].val
	}
	return k, draft.Value{}
}

// newestScalar is resolve for concurrent scalar writes under
// last-writer-wins (a register with no container and no counter): the
// newest entry's value, without building candidates. ok is false when the
// register does not have that shape.
func (d *Doc) newestScalar(s *slot) (draft.Value, bool) {
	if len(s.entries) == 0 || d.strategy(s).Kind != LastWriterWins {
		return draft.Value{}, false
	}
	best := -1
	for k := range s.entries {
		e := &s.entries[k]
		if kd := e.val.Kind(); kd == draft.MapKind || kd == draft.ListKind {
			return draft.Value{}, false
		}
		if best < 0 || opLess(s.entries[best].ts, s.entries[best].id, e.ts, e.id) {
			best = k
		}
	}
	return s.entries[best].val, true
}

// candValue returns a candidate's value, rendering containers detached.
func (d *Doc) candValue(s *slot, c *cand) draft.Value {
	switch c.kind {
	case visMap, visList:
		return d.renderNode(s.child, c.kind, false)
	}
	return c.val
}

// ensureChild returns s's container node, creating it.
func (d *Doc) ensureChild(s *slot) *node {
	if s.child == nil {
		s.child = newNode(s)
	}
	return s.child
}

// renderNode builds the value of container n shown as kind k (visMap or
// visList). With mark, n and everything rendered below are recorded as shown.
func (d *Doc) renderNode(n *node, k visKind, mark bool) draft.Value {
	if n == nil {
		if k == visList {
			return draft.EmptyList()
		}
		return draft.EmptyMap()
	}
	if mark {
		n.shown = k
	}
	if k == visMap {
		if len(n.keys) == 0 {
			return draft.EmptyMap()
		}
		m := make(map[string]draft.Value, len(n.keys))
		for key, s := range n.keys {
			if v := d.renderSlot(s, mark); v.IsValid() {
				m[key] = v
			}
		}
		return draft.MapOf(m)
	}
	if n.lst == nil {
		return draft.EmptyList()
	}
	items := make([]draft.Value, 0, n.lst.seq.Len())
	for p, visible := range n.lst.seq.All() {
		if !visible {
			continue
		}
		if e := n.lst.elemAt(p); e != nil {
			if v := d.renderSlot(e, mark); v.IsValid() {
				items = append(items, v)
			}
		}
	}
	return draft.ListOf(items...)
}

// renderSlot returns what register s shows (Invalid if nothing).
func (d *Doc) renderSlot(s *slot, mark bool) draft.Value {
	if mark {
		settle(s)
	}
	k, v := d.resolve(s)
	if k == visMap || k == visList {
		if mark && s.child == nil {
			d.ensureChild(s)
		}
		v = d.renderNode(s.child, k, mark)
	}
	if mark {
		s.show(k, v)
	}
	return v
}

// unshow records that container n (and everything below) is no longer shown.
func (d *Doc) unshow(n *node) {
	if n == nil || n.shown == visNone {
		return
	}
	n.shown = visNone
	for _, s := range n.keys {
		d.unshowSlot(s)
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			d.unshowSlot(s)
		}
	}
}

func (d *Doc) unshowSlot(s *slot) {
	if s.vis == visMap || s.vis == visList {
		d.unshow(s.child)
	}
	s.vis = visNone
	s.visVal = draft.Value{}
}

// pathOf returns the visible path of container n (it must be shown), with
// room for extra more segments.
func (d *Doc) pathOf(n *node, extra int) draft.Path {
	depth := len(n.path)
	p := d.takeSegs(depth + extra)[:depth]
	for s := n.parent; s != nil; s = s.owner.parent {
		depth--
		if s.isElem() {
			i, _, _ := s.owner.lst.seq.IndexOf(s.pos)
			p[depth] = draft.Index(i)
		} else {
			p[depth] = draft.Key(s.key)
		}
	}
	return p
}

// takeSegs carves room for k path segments from a shared chunk (patch paths
// are small and immutable once made, so chunks are never rewritten).
func (d *Doc) takeSegs(k int) draft.Path {
	if cap(d.segs)-len(d.segs) < k {
		d.segs = make(draft.Path, 0, max(k, 128))
	}
	a := d.segs
	d.segs = a[:len(a)+k]
	return a[len(a) : len(a)+k : len(a)+k]
}

// emit records a visible patch at the path of container n plus last.
func (d *Doc) emit(op draft.Op, n *node, last draft.Segment, v draft.Value) {
	if d.quiet {
		return
	}
	if len(d.lag) == cap(d.lag) {
		d.growLag()
	}
	d.lag = append(d.lag, draft.Patch{Op: op, Path: append(d.pathOf(n, 1), last), Value: v})
}

// touch brings the materialised state in line with register s after it
// changed. force re-renders a container even if it stays the same kind (its
// contents changed wholesale, e.g. after a subtree clear).
func (d *Doc) touch(s *slot, force bool) {
	n := s.owner
	settle(s)
	if s.isElem() {
		d.touchElem(s, force)
	} else if n.shown != visMap {
		d.unshowSlot(s)
		d.touchMultiAbove(n)
	} else {
		k, v := d.resolve(s)
		old := s.vis
		if force || k != old || ((k == visScalar || k == visMulti) && !v.Equal(s.visVal)) {
			v = d.reshow(s, old, k, v)
			switch {
			case k == visNone:
				if old != visNone {
					d.emit(draft.OpRemove, n, draft.Key(s.key), draft.Value{})
				}
			case old == visNone:
				d.emit(draft.OpAdd, n, draft.Key(s.key), v)
			default:
				d.emit(draft.OpReplace, n, draft.Key(s.key), v)
			}
		}
	}
	d.checkImpl(n)
}

// touchMultiAbove re-resolves the MultiValue register whose sibling list
// shows container n (not itself shown), if there is one: a change inside a
// sibling changes that list.
func (d *Doc) touchMultiAbove(n *node) {
	for s := n.parent; s != nil; s = s.owner.parent {
		if s.vis == visMulti {
			d.touch(s, false)
			return
		}
		if s.vis != visNone || s.owner.shown != visNone {
			return
		}
	}
}

// reshow records that shown register s now shows k (v for scalars), having
// shown old, rendering a container; it returns the value shown.
func (d *Doc) reshow(s *slot, old, k visKind, v draft.Value) draft.Value {
	if old == visMap || old == visList {
		d.unshow(s.child)
	}
	if k == visMap || k == visList {
		v = d.renderNode(d.ensureChild(s), k, true)
	}
	s.show(k, v)
	return v
}

// show records what s shows: its kind, and its value when that is a
// scalar or a multi-value (containers are rendered from their nodes, so
// their value is not kept in the slot).
func (s *slot) show(k visKind, v draft.Value) {
	s.vis = k
	if k != visScalar && k != visMulti {
		v = draft.Value{}
	}
	s.visVal = v
}

// settle records the liveness of s's container as seen by this resolution
// of s (see checkImpl). Detached renders must not call it.
func settle(s *slot) {
	if s.child != nil {
		s.child.impl = s.child.implFlags()
	}
}

// checkImpl re-resolves n's own register if n's live content appeared or
// vanished since its parent last looked.
func (d *Doc) checkImpl(n *node) {
	if n.parent != nil && n.implFlags() != n.impl {
		d.touch(n.parent, false)
	}
}

// touchElem is touch for a list element: it also keeps the sequence's
// visibility flag of the element's position in step (an element is visible
// iff it shows something), whether or not the list is shown.
func (d *Doc) touchElem(s *slot, force bool) {
	n := s.owner
	l := n.lst
	k, v := d.resolve(s)
	alive := k != visNone
	if n.shown != visList {
		d.unshowSlot(s)
		if _, _, err := l.seq.SetVisible(s.pos, alive); err != nil {
			panic("crdt: element position missing from its sequence: " + err.Error())
		}
		d.touchMultiAbove(n)
		return
	}
	old := s.vis
	if !force && k == old && !((k == visScalar || k == visMulti) && !v.Equal(s.visVal)) {
		return
	}
	v = d.reshow(s, old, k, v)
	switch {
	case k == visNone:
		i, _, err := l.seq.SetVisible(s.pos, false)
		if err != nil {
			panic("crdt: element position missing from its sequence: " + err.Error())
		}
		if old != visNone {
			d.emit(draft.OpRemove, n, draft.Index(i), draft.Value{})
		}
	case old == visNone:
		if d.quiet && s.pos == d.shownIns {
			return // a local insert: visible already, and no patch wanted
		}
		i, _, err := l.seq.SetVisible(s.pos, true)
		if err != nil {
			panic("crdt: element position missing from its sequence: " + err.Error())
		}
		d.emit(draft.OpAdd, n, draft.Index(i), v)
	default:
		i, _, _ := l.seq.IndexOf(s.pos)
		d.emit(draft.OpReplace, n, draft.Index(i), v)
	}
}
