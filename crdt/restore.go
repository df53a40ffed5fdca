package crdt

import (
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/draft"
)

// This file restores a snapshot into an empty document in bulk: a restart
// loads the last snapshot (issue 6: 1,000,000 keys in under 2 s), and the
// general join (joiner in merge.go) pays per key for things an empty
// document does not need (a map of keys seen, entry-by-entry coverage
// checks, slices grown one entry at a time, a diff against the old state).
// The result is the document MergeSnapshot into an empty document gives:
// the same registers, sequences, version vector, state and patches
// (TestRestoreMatchesMerge checks it on random documents).

// Restore returns a new document (as New(cfg)) holding the snapshot encoded
// in data, as DecodeSnapshot and MergeSnapshot into the new document would,
// but faster: the decoded snapshot is not kept, so the document takes its
// registers over without copying them, and no patches are produced (there
// is nobody to send them to). Use it to load a replica's own snapshot at
// start; the changes the snapshot summarises are not in the op log
// (ChangesSince cannot serve them), as after MergeSnapshot. Malformed data
// gives an error wrapping ErrMalformed, ErrTooLarge or ErrVersion and no
// document. The clock is raised to the snapshot's newest stamp of another
// replica; stamps of cfg.Replica never raise it (a replica's own clock must
// resume from its persisted bound, clock.Config.Resume, or the changes
// logged after the snapshot are refused). With no snapshot yet, use New.
func Restore(cfg Config, data []byte) (*Doc, error) {
	d, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s, err := DecodeSnapshot(data)
	if err != nil {
		return nil, err
	}
	maxTS, err := validateSnapshot(s)
	if err != nil {
		return nil, err
	}
	if d.vv.Includes(s.vv) {
		return d, nil // an empty snapshot
	}
	if !maxTS.IsZero() && maxTS.Replica != d.cfg.Replica {
		_ = d.clk.Update(maxTS) // a drift refusal only leaves the clock behind
	}
	d.restore(s, true)
	d.stats.Applied++
	return d, nil
}

// restorable reports whether the document has applied nothing, so that a
// snapshot can be restored into it in bulk (pending and quarantined
// changes do not matter: they are retried afterwards either way).
func (d *Doc) restorable() bool {
	if len(d.root.keys) != 0 || d.root.lst != nil || len(d.lag) != 0 {
		return false
	}
	for _, s := range d.vv {
		if s != 0 {
			return false
		}
	}
	return true
}

// mergeIntoEmpty is MergeSnapshot's tail for a restorable document and a
// validated snapshot that is not covered.
func (d *Doc) mergeIntoEmpty(s *Snapshot) Result {
	var res Result
	old := d.current()
	d.restore(s, false)
	if d.cfg.SkipPatches {
		// No patches wanted: the render restore made is the state.
	} else if old.Kind() == draft.MapKind && old.Len() == 0 {
		res.Patches = patchesFromEmpty(d.state)
	} else {
		res.Patches = appendDiff(nil, nil, old, d.state)
	}
	res.Applied++
	d.stats.Applied++
	d.begin()
	d.drain(&res)
	d.finish(&res)
	return res
}

// patchesFromEmpty is appendDiff from an empty map to the map state: one add
// per key, in state's order, with the paths carved from one allocation.
func patchesFromEmpty(state draft.Value) []draft.Patch {
	n := state.Len()
	if n == 0 {
		return nil
	}
	out := make([]draft.Patch, 0, n)
	segs := make([]draft.Segment, n)
	for k, v := range state.Range() {
		i := len(out)
		segs[i] = draft.Key(k)
		out = append(out, draft.Patch{Op: draft.OpAdd, Path: segs[i : i+1 : i+1], Value: v})
	}
	return out
}

// restore builds the registers of the validated snapshot s into the empty
// document d and renders the state. With owned, s is not used afterwards
// and its entry and counter slices are taken over instead of copied.
func (d *Doc) restore(s *Snapshot, owned bool) {
	b := restorer{d: d, owned: owned}
	if s.root != nil {
		if !owned {
			b.entries = make([]entry, 0, countEntries(s.root))
		}
		b.node(d.root, s.root)
	}
	d.vv.Merge(s.vv)
	if b.lists {
		d.resetFlags(d.root)
	}
	// Every register is new and shows nothing yet (what unshow would record).
	d.root.shown = visNone
	d.state = b.render(d.root, visMap)
}

// bulkKeys is the number of keys from which a restored map is rendered by
// appending its keys in order to a draft instead of through draft.MapOf
// (which takes a Go map and sorts its keys): about 2.5 times less CPU for
// a large map.
const bulkKeys = 256

// render is renderNode(n, k, true) for a node restore built: a large map's
// registers are in key order in their slab, so its value is built in order;
// maps are walked here so that a large map below a small one is found.
func (b *restorer) render(n *node, k visKind) draft.Value {
	if k != visMap {
		return b.d.renderNode(n, k, true)
	}
	n.shown = k
	slab, ok := b.sorted[n]
	if !ok {
		if len(n.keys) == 0 {
			return draft.EmptyMap()
		}
		m := make(map[string]draft.Value, len(n.keys))
		for key, s := range n.keys {
			if v := b.renderSlot(s); v.IsValid() {
				m[key] = v
			}
		}
		return draft.MapOf(m)
	}
	dr := draft.NewDraft(draft.EmptyMap())
	m := dr.Root()
	for i := range slab {
		s := &slab[i]
		if v := b.renderSlot(s); v.IsValid() {
			if err := m.Set(s.key, v); err != nil {
				panic("crdt: rendering a restored map: " + err.Error())
			}
		}
	}
	return dr.Current()
}

// renderSlot is renderSlot(s, true) for a register restore built.
func (b *restorer) renderSlot(s *slot) draft.Value {
	settle(s)
	k, v := b.d.resolve(s)
	if k == visMap || k == visList {
		v = b.render(b.d.ensureChild(s), k)
	}
	s.show(k, v)
	return v
}

// restorer builds registers from snapshot nodes. A snapshot (from
// Doc.Snapshot or DecodeSnapshot) names each key, element and counter
// replica once per container; registers and copied entries are carved from
// a few large allocations.
type restorer struct {
	d       *Doc
	owned   bool
	lists   bool
	entries []entry // arena for copied entries
	// sorted holds the registers of large maps, in key order.
	sorted map[*node][]slot
}

// countEntries adds up the entries below n, to size the arena.
func countEntries(n *snapNode) int {
	c := 0
	add := func(ss *snapSlot) {
		c += len(ss.entries)
		if ss.child != nil {
			c += countEntries(ss.child)
		}
	}
	for _, ss := range n.slots {
		add(ss)
	}
	if n.list != nil {
		for k := range n.list.elems {
			add(n.list.elems[k].slot)
		}
	}
	return c
}

// node fills the empty container n from sn and sets its live counts (what
// recount would); it returns them.
func (b *restorer) node(n *node, sn *snapNode) int {
	if len(sn.keys) > 0 {
		slots := make([]slot, len(sn.keys))
		n.keys = make(map[string]*slot, len(sn.keys))
		for i, k := range sn.keys {
			s := &slots[i]
			s.owner, s.key = n, k
			n.keys[k] = s
			n.liveMap += b.slot(s, sn.slots[i])
		}
		if len(n.keys) != len(sn.keys) {
			panic("crdt: snapshot names a key twice")
		}
		if len(slots) >= bulkKeys && slices.IsSorted(sn.keys) {
			if b.sorted == nil {
				b.sorted = make(map[*node][]slot)
			}
			b.sorted[n] = slots
		}
	}
	if sn.list != nil {
		n.liveList = b.list(n, sn.list)
	}
	n.impl = n.implFlags()
	return n.liveMap + n.liveList
}

// list fills n's list part from sl: the slots integrated in an order that
// has every origin before the slots naming it, then the elements. It
// returns the live units of the elements and below.
func (b *restorer) list(n *node, sl *snapList) int {
	b.lists = true
	l := n.list()
	for _, k := range originOrder(sl.slots) {
		p := sl.slots[k]
		if _, err := l.seq.Integrate(p.id, p.org); err != nil {
			panic(fmt.Sprintf("crdt: validated snapshot slot %s does not integrate: %v", p.id, err))
		}
	}
	if len(sl.moved) > 0 {
		l.moved = make(map[OpID]OpID, len(sl.moved))
		for _, m := range sl.moved {
			l.moved[m[0]] = m[1]
		}
	}
	slots := make([]slot, len(sl.elems))
	live := 0
	for k := range sl.elems {
		e := &sl.elems[k]
		s := &slots[k]
		s.owner, s.elem = n, e.id
		l.setPos(s, e.pos, e.posTS)
		if l.elem(e.id) != nil {
			panic("crdt: snapshot names a list element twice")
		}
		l.setElem(e.id, s)
		live += b.slot(s, e.slot)
	}
	if l.numElems() != len(sl.elems) {
		panic("crdt: snapshot names a list element twice")
	}
	return live
}

// originOrder returns the indexes of slots ordered so that each slot's
// origin comes before it (the snapshot was validated: origins are present
// and acyclic): breadth first from the list head through the slots naming
// each slot as origin, in id order.
func originOrder(slots []snapPos) []int32 {
	index := make(map[OpID]int32, len(slots))
	for k, p := range slots {
		index[p.id] = int32(k)
	}
	// The slots naming each slot, in compressed rows; parent len(slots)
	// stands for the list head.
	head := int32(len(slots))
	parent := make([]int32, len(slots))
	start := make([]int32, len(slots)+2)
	for k, p := range slots {
		parent[k] = head
		for _, o := range originIDs(p.org) {
			parent[k] = index[o]
		}
		start[parent[k]+1]++
	}
	for k := 1; k < len(start); k++ {
		start[k] += start[k-1]
	}
	kids := make([]int32, len(slots))
	fill := slices.Clone(start[:len(slots)+1])
	for k := range slots {
		kids[fill[parent[k]]] = int32(k)
		fill[parent[k]]++
	}
	order := make([]int32, 0, len(slots))
	order = append(order, kids[start[head]:start[head+1]]...)
	for i := 0; i < len(order); i++ {
		x := order[i]
		order = append(order, kids[start[x]:start[x+1]]...)
	}
	if len(order) != len(slots) {
		panic("crdt: validated snapshot has list slots whose origins never arrive")
	}
	return order
}

// slot fills the new register s from ss and returns the live units in it
// and below.
func (b *restorer) slot(s *slot, ss *snapSlot) int {
	if n := len(ss.entries); n > 0 {
		if b.owned {
			s.entries = ss.entries[:n:n]
		} else {
			k := len(b.entries)
			b.entries = append(b.entries, ss.entries...)
			s.entries = b.entries[k : k+n : k+n]
		}
	}
	if ss.ctr != nil {
		s.ctr = &counter{}
		if len(ss.ctr) > 0 {
			s.ctr.contribs = ss.ctr
			if !b.owned {
				s.ctr.contribs = slices.Clone(ss.ctr)
			}
		}
	}
	live := s.units()
	if ss.child != nil {
		live += b.node(b.d.ensureChild(s), ss.child)
	}
	return live
}
