package crdt

import (
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// MergeSnapshot joins a snapshot into the document: the causal-context join.
// An entry survives iff both sides hold it, or one side holds it and the
// other side's version vector does not cover it (had the other side seen it,
// it would hold it unless it had removed it). Counter contributions keep the
// later prefix of each replica; list slots are united. The version vectors
// join. Merge is commutative, associative and idempotent, and merging a
// snapshot gives the state applying the changes it summarises gives.
// Pending changes that become ready are applied. The changes the snapshot
// summarises are not added to the op log (ChangesSince cannot serve them).
// A malformed snapshot is rejected before anything changes.
func (d *Doc) MergeSnapshot(s *Snapshot) (Result, error) {
	var res Result
	if s == nil {
		return res, fmt.Errorf("%w: nil snapshot", ErrMalformed)
	}
	maxTS, err := validateSnapshot(s)
	if err != nil {
		res.Rejected++
		d.stats.Rejected++
		return res, err
	}
	if d.vv.Includes(s.vv) {
		// Everything it holds is here or was removed here: nothing to do
		// (the join with a covered snapshot is the identity).
		res.Duplicates++
		return res, nil
	}
	if !maxTS.IsZero() && maxTS.Replica != d.cfg.Replica {
		_ = d.clk.Update(maxTS) // a drift refusal only leaves the clock behind
	}
	if d.restorable() {
		return d.mergeIntoEmpty(s), nil // bulk build (restore.go)
	}
	res.Patches = d.mergeByJoin(s)
	d.begin()
	res.Applied++
	d.stats.Applied++
	d.drain(&res)
	d.finish(&res)
	return res, nil
}

type joiner struct {
	d      *Doc
	vd, vs VersionVector
}

func (j joiner) node(n *node, sn *snapNode) {
	seen := map[string]bool{}
	if sn != nil {
		for i, k := range sn.keys {
			seen[k] = true
			j.slot(j.d.slotIn(n, KeySeg(k)), sn.slots[i])
		}
	}
	for k, s := range n.keys {
		if !seen[k] {
			j.slot(s, nil)
		}
	}
	var sl *snapList
	if sn != nil {
		sl = sn.list
	}
	if sl == nil {
		if n.lst != nil {
			for e := range n.lst.all() {
				j.slot(e, nil)
			}
		}
		return
	}
	l := n.list()
	missing := make([]snapPos, 0)
	for _, p := range sl.slots {
		if !l.seq.Has(p.id) {
			missing = append(missing, p)
		}
	}
	for len(missing) > 0 {
		rest := missing[:0]
		for _, p := range missing {
			if _, err := l.seq.Integrate(p.id, p.org); err != nil {
				rest = append(rest, p)
				continue
			}
			j.d.listSlots++
		}
		if len(rest) == len(missing) {
			panic("crdt: validated snapshot has list slots whose origins never arrive")
		}
		missing = rest
	}
	for _, m := range sl.moved {
		if l.moved == nil {
			l.moved = make(map[OpID]OpID)
		}
		l.moved[m[0]] = m[1]
	}
	inSnap := make(map[OpID]bool, len(sl.elems))
	for _, e := range sl.elems {
		inSnap[e.id] = true
		s := l.elem(e.id)
		if s == nil {
			s = &slot{owner: n, elem: e.id}
			l.setPos(s, e.pos, e.posTS)
			l.setElem(e.id, s)
		} else if opLess(l.posTS(s), s.pos, e.posTS, e.pos) {
			l.setPos(s, e.pos, e.posTS)
		}
		j.slot(s, e.slot)
	}
	for s := range l.all() {
		if !inSnap[s.elem] {
			j.slot(s, nil)
		}
	}
}

func (j joiner) slot(s *slot, ss *snapSlot) {
	has := func(es []entry, id OpID) bool {
		for _, e := range es {
			if e.id == id {
				return true
			}
		}
		return false
	}
	var theirs []entry
	if ss != nil {
		theirs = ss.entries
	}
	var keep []entry
	for _, e := range s.entries {
		if has(theirs, e.id) || !j.vs.Covers(e.id) {
			keep = append(keep, e)
		}
	}
	for _, e := range theirs {
		if !has(s.entries, e.id) && !j.vd.Covers(e.id) {
			keep = append(keep, e)
		}
	}
	s.entries = keep
	if ss != nil && ss.ctr != nil {
		if s.ctr == nil {
			s.ctr = &counter{}
		}
		for _, c := range ss.ctr {
			k, ok := s.ctr.find(c.replica)
			if !ok {
				s.ctr.contribs = slices.Insert(s.ctr.contribs, k, c)
				continue
			}
			x := &s.ctr.contribs[k]
			if c.seq > x.seq {
				x.seq, x.ts, x.i, x.f, x.hasF = c.seq, c.ts, c.i, c.f, c.hasF
			}
			if c.remSeq > x.remSeq {
				x.remSeq, x.remI, x.remF = c.remSeq, c.remI, c.remF
			}
		}
	}
	switch {
	case ss != nil && ss.child != nil:
		j.node(j.d.ensureChild(s), ss.child)
	case s.child != nil:
		j.node(s.child, nil)
	}
}

// recount recomputes live counts below n and marks them settled.
func recount(n *node) int {
	n.liveMap, n.liveList = 0, 0
	for _, s := range n.keys {
		n.liveMap += s.units()
		if s.child != nil {
			n.liveMap += recount(s.child)
		}
	}
	if n.lst != nil {
		for s := range n.lst.all() {
			n.liveList += s.units()
			if s.child != nil {
				n.liveList += recount(s.child)
			}
		}
	}
	n.impl = n.implFlags()
	return n.liveMap + n.liveList
}

// resetFlags sets every list slot's visibility from the registers.
func (d *Doc) resetFlags(n *node) {
	for _, s := range n.keys {
		if s.child != nil {
			d.resetFlags(s.child)
		}
	}
	if n.lst == nil {
		return
	}
	for p := range n.lst.seq.All() {
		e := n.lst.elemAt(p)
		vis := false
		if e != nil && e.pos == p {
			k, _ := d.resolve(e)
			vis = k != visNone
		}
		if _, _, err := n.lst.seq.SetVisible(p, vis); err != nil {
			panic("crdt: slot vanished from its sequence: " + err.Error())
		}
	}
	for e := range n.lst.all() {
		if e.child != nil {
			d.resetFlags(e.child)
		}
	}
}

// appendDiff appends patches turning a into b at path: maps key by key,
// anything else replaced whole. Shared subtrees are skipped.
func appendDiff(out []draft.Patch, path draft.Path, a, b draft.Value) []draft.Patch {
	if a.Same(b) {
		return out
	}
	at := func(k string) draft.Path {
		p := make(draft.Path, len(path)+1)
		copy(p, path)
		p[len(path)] = draft.Key(k)
		return p
	}
	if a.Kind() != draft.MapKind || b.Kind() != draft.MapKind {
		if !a.Equal(b) {
			out = append(out, draft.Patch{Op: draft.OpReplace, Path: path, Value: b})
		}
		return out
	}
	for k, v := range a.Range() {
		if w, ok := b.Get(k); !ok {
			out = append(out, draft.Patch{Op: draft.OpRemove, Path: at(k)})
		} else {
			out = appendDiff(out, at(k), v, w)
		}
	}
	for k, w := range b.Range() {
		if !a.Has(k) {
			out = append(out, draft.Patch{Op: draft.OpAdd, Path: at(k), Value: w})
		}
	}
	return out
}

// validateSnapshot checks that every id is covered by the snapshot's version
// vector and that list structure is closed (origins, elements and positions
// name slots of the same list). It returns the greatest timestamp.
func validateSnapshot(s *Snapshot) (clock.Timestamp, error) {
	var maxTS clock.Timestamp
	bad := func(why string, id OpID) error {
		return fmt.Errorf("%w: snapshot: %s %s", ErrMalformed, why, id)
	}
	stamp := func(ts clock.Timestamp) {
		if maxTS.Less(ts) {
			maxTS = ts
		}
	}
	var node func(n *snapNode) error
	var slot func(ss *snapSlot) error
	slot = func(ss *snapSlot) error {
		for _, e := range ss.entries {
			if !s.vv.Covers(e.id) || e.id.Seq == 0 {
				return bad("entry not covered by its version vector", e.id)
			}
			stamp(e.ts)
			if k := e.val.Kind(); (k == draft.MapKind || k == draft.ListKind) && e.val.Len() != 0 {
				return bad("container entry is not a marker", e.id)
			}
		}
		for _, c := range ss.ctr {
			if id := (OpID{Replica: c.replica, Seq: c.seq}); !s.vv.Covers(id) || c.seq == 0 {
				return bad("counter contribution not covered", id)
			}
			stamp(c.ts)
		}
		if ss.child != nil {
			return node(ss.child)
		}
		return nil
	}
	node = func(n *snapNode) error {
		for _, ss := range n.slots {
			if err := slot(ss); err != nil {
				return err
			}
		}
		l := n.list
		if l == nil {
			return nil
		}
		slots := make(map[OpID]bool, len(l.slots))
		for _, p := range l.slots {
			if !s.vv.Covers(p.id) || p.id.Seq == 0 {
				return bad("list slot not covered", p.id)
			}
			slots[p.id] = true
		}
		origin := make(map[OpID]OpID, len(l.slots))
		for _, p := range l.slots {
			for _, o := range originIDs(p.org) {
				if !slots[o] || o == p.id {
					return bad("list slot with a missing origin", p.id)
				}
				origin[p.id] = o
			}
		}
		// Origins must form a forest (they name earlier slots): no cycles.
		state := make(map[OpID]uint8, len(l.slots)) // 1 on the walk, 2 done
		for _, p := range l.slots {
			var walk []OpID
			x, ok := p.id, true
			for ok && state[x] == 0 {
				state[x] = 1
				walk = append(walk, x)
				x, ok = origin[x]
			}
			if ok && state[x] == 1 {
				return bad("list slots with cyclic origins", x)
			}
			for _, w := range walk {
				state[w] = 2
			}
		}
		elems := make(map[OpID]bool, len(l.elems))
		for _, e := range l.elems {
			if !slots[e.id] || !slots[e.pos] {
				return bad("element without its slot", e.id)
			}
			elems[e.id] = true
			stamp(e.posTS)
			if err := slot(e.slot); err != nil {
				return err
			}
		}
		for _, m := range l.moved {
			if !slots[m[0]] || !elems[m[1]] || elems[m[0]] {
				return bad("bad move slot", m[0])
			}
		}
		movedSlots := make(map[OpID]bool, len(l.moved))
		for _, m := range l.moved {
			movedSlots[m[0]] = true
		}
		for _, p := range l.slots {
			if !elems[p.id] && !movedSlots[p.id] {
				return bad("slot owned by no element", p.id)
			}
		}
		return nil
	}
	if s.root != nil {
		if err := node(s.root); err != nil {
			return maxTS, err
		}
	}
	return maxTS, nil
}

// mergeByJoin is MergeSnapshot's general path: the causal-context join of
// s into d, then a full re-render of the state and a diff against the old
// one, returned as patches. The bulk restore (restore.go) must give the
// same document when d is empty; its tests use this path as the oracle.
func (d *Doc) mergeByJoin(s *Snapshot) []draft.Patch {
	var old draft.Value
	if !d.cfg.SkipPatches {
		old = d.current()
	}
	j := joiner{d: d, vd: d.vv.Clone(), vs: s.vv}
	j.node(d.root, s.root)
	d.vv.Merge(s.vv)
	recount(d.root)
	d.resetFlags(d.root)
	d.unshow(d.root)
	d.state = d.renderNode(d.root, visMap, true)
	d.stale = false // the render is up to date (and lag is empty: current applied it)
	if d.cfg.SkipPatches {
		return nil
	}
	return appendDiff(nil, nil, old, d.state)
}
