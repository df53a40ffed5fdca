package draft

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync"
)

// Draft is a mutable working copy of a Value. Change it through its
// path-addressed methods or through typed sub-drafts (Map, List), then
// Finish it (Produce does both for you) to get the next immutable Value
// and the patches that lead there.
//
// A Draft is not safe for concurrent use. Values read from a draft (Get,
// Current) are immutable snapshots, safe to keep and share. After Finish,
// every method returns ErrFinished (reads return the zero Value).
type Draft struct {
	s *session
}

// session is what a Draft and its sub-drafts point to. The working state
// (the change log above all) is in a work taken from workPool and given
// back when the draft finishes, so a produce does not allocate and zero a
// fresh log each time; the session keeps only what must outlive the
// draft (base, done). Every method checks done before it touches work.
// A plain draft has a session of its own (its d); an owner reuses one
// session for all its produces, each with a Draft of its own that is
// pointed at the owner's finished session when the produce ends (see
// newDraft in owner.go), and sub-drafts reach the session through their
// Draft.
type session struct {
	d     Draft
	base  Value
	done  bool
	owned bool // an owned produce's draft (work.owner is the owner)
	*work
}

// work is the part of a session that is reused from one draft to the
// next. Nothing a finished draft handed out points into it, except segs:
// patch and sub-draft paths are carved from it, and a plain draft drops
// it at release; an owner's work keeps the chunk's uncarved room for the
// owner's next produce (carved paths are never written again, so the
// paths handed out stay as they are; see path).
type work struct {
	root  Value
	ed    *edit
	owner *Owner // an owned produce's owner (nil for a plain draft)
	log   changeLog
	segs  []Segment // free room for paths made by this draft (see path)
	// segsUsed counts the segments carved by this draft; segHint is the
	// count of the previous draft, the size of the first chunk.
	segsUsed, segHint int
	pend              pendingAdds
	// into is set when the forward patches go into dst, the caller's
	// room (ProduceForwardOwnedAppend), instead of fresh room.
	into bool
	dst  []Patch
	// intoSegs is the room the patch paths of an into produce are carved
	// from (see logPath), intoUsed segments of it so far. Its caller
	// consumes the patches before its next produce, so each into produce
	// carves it from the start again.
	intoSegs []Segment
	intoUsed int
}

// pendingAdds holds the keys set on a map that was empty, not yet in the
// tree (see "Runs of buffered adds"). They are logged as they come; the
// tree is built in one pass when any other operation needs the state.
type pendingAdds struct {
	on       bool
	path     Path // the map's path
	start, n int  // the run's log entries: nothing else is logged during a run
	order    []addOrder
}

var workPool = sync.Pool{New: func() any { return new(work) }}

// NewDraft opens a manual draft on base (Immer's createDraft). Finish it
// with Finish. Use it for long-lived batches of changes.
func NewDraft(base Value) *Draft { return newDraft(base, smallEpoch, nil) }

// newDraft opens a draft on base whose token is ed (a new plain token if
// nil).
func newDraft(base Value, scanLimit int, ed *edit) *Draft {
	return openDraft(new(session), workPool.Get().(*work), base, scanLimit, ed)
}

// openDraft opens a draft on base in session s with work w, whose token is
// ed (a new plain token if nil).
func openDraft(s *session, w *work, base Value, scanLimit int, ed *edit) *Draft {
	if w.root != base { // an owner's work often has it already: spare the barrier
		w.root = base
	}
	w.log.scanLimit = int32(scanLimit)
	// The token must not share the session's allocation: nodes keep it
	// alive, and a token inside the session would keep the whole session
	// (and through base, every earlier state) alive too. (An owned
	// produce's token and session come from its owner's slabs; see
	// tokenSlab.)
	if ed == nil {
		ed = new(edit)
	}
	w.ed = ed
	s.base, s.work = base, w
	s.d.s = s
	return &s.d
}

// release ends the draft and gives its work back to workPool (or, for an
// owned draft, to its owner, which keeps one for its next produce).
func (s *session) release() {
	w := s.work
	s.done, s.work = true, nil
	o := w.owner
	if o == nil && w.segs != nil {
		// An owner keeps the room: the next produce carves on after the
		// paths handed out (one chunk serves many one-write produces).
		w.segs = nil
	}
	if o != nil {
		s.base = Value{} // the owner keeps the session: not its base
		o.finish()
	} else {
		w.root, w.ed = Value{}, nil // an owner's work keeps them until its next produce
	}
	w.pend.reset()
	if w.into {
		w.into, w.dst = false, nil
	}
	w.segHint, w.segsUsed = w.segsUsed, 0
	w.log.reset()
	if o != nil {
		// An owner keeps its work for as long as it lives, not until the
		// next collection as the pool does: it keeps no large sort room.
		if cap(w.pend.order) > maxOwnerAdds {
			w.pend.order = nil
		}
		o.workOut = false
		return
	}
	workPool.Put(w)
}

// maxOwnerAdds is the sort room for buffered adds (see pendingAdds) an
// owner's work keeps between produces: 32 KB.
const maxOwnerAdds = 1 << 11

// Produce runs recipe on a draft of base and returns the next state, the
// patches from base to next, and the inverse patches from next to base.
//
// If recipe returns an error, base is untouched, nothing escapes, and
// Produce returns base and that error (a panic propagates, with base
// likewise untouched and the draft finished). If the recipe changes
// nothing (or changes things back), next is base itself and both patch
// lists are empty. Subtrees the recipe did not touch are shared between
// base and next, not copied. The cost is proportional to the change, not
// to the size of base: O(changes × depth × log width).
func Produce(base Value, recipe func(d *Draft) error) (next Value, patches, inverse []Patch, err error) {
	return produce(base, recipe, smallEpoch)
}

// ProduceForward is Produce without the inverse patches: the same next
// state, the same forward patches, the same guarantees (identity when
// nothing changes, base untouched on error, structural sharing), for
// callers that never undo, such as a CRDT that turns the patches into
// operations. It saves building the inverse list: one Patch (112 bytes)
// per forward patch, and the time to fill it.
func ProduceForward(base Value, recipe func(d *Draft) error) (next Value, patches []Patch, err error) {
	next, patches, _, err = produceWith(base, recipe, smallEpoch, false)
	return next, patches, err
}

func produce(base Value, recipe func(d *Draft) error, scanLimit int) (Value, []Patch, []Patch, error) {
	return produceWith(base, recipe, scanLimit, true)
}

func produceWith(base Value, recipe func(d *Draft) error, scanLimit int, inverse bool) (Value, []Patch, []Patch, error) {
	d := newDraft(base, scanLimit, nil)
	defer func() { d.s.done = true }() // after a panic; the work is not reused then
	if err := recipe(d); err != nil {
		if !d.s.done { // the recipe may have called Finish itself
			d.s.release()
		}
		return base, nil, nil, err
	}
	return d.s.finish(inverse)
}

// Finish ends the draft (Immer's finishDraft) and returns the result as
// Produce does. A second Finish returns ErrFinished. The draft of an owned
// produce is finished by that produce: Finish returns ErrOwnerBusy.
func (d *Draft) Finish() (next Value, patches, inverse []Patch, err error) {
	if d.s.owned && !d.s.done {
		return Value{}, nil, nil, ErrOwnerBusy
	}
	return d.s.finish(true)
}

// finish ends the draft; without inverse, the inverse list is nil.
func (s *session) finish(inverse bool) (Value, []Patch, []Patch, error) {
	if s.done {
		return Value{}, nil, nil, ErrFinished
	}
	defer s.release()
	s.flush()
	s.log.settle(s.root)
	if s.log.live == 0 {
		s.rollback()
		return s.base, nil, nil, nil
	}
	// Writes at a path after writes below it are not merged, so a recipe
	// can undo its changes without the log seeing it; Equal skips shared
	// subtrees, so this costs about the size of the change. Changes in
	// disjoint places are always real (see disjointChanges; W2's age and
	// tags skip the comparison). An owned draft first gives base its
	// adopted nodes back (Equal would see them changed on both sides).
	if !s.log.disjointChanges() {
		s.detach()
		if s.root.Equal(s.base) {
			return s.base, nil, nil, nil
		}
	}
	// Under an owner, patches hand out values: freeze the owner if one of
	// them holds nodes it may still change.
	if s.owner != nil && s.log.holdsOwned(s.ed, inverse) {
		s.detach()
		s.owner.endEpoch()
	}
	if s.into {
		return s.root, s.log.appendPatches(s.dst), nil, nil
	}
	fwd, inv := s.log.patches(inverse, s.owner)
	return s.root, fwd, inv, nil
}

// rollback gives an owned draft's base its adopted nodes back (the draft
// is ending with base as its result).
func (s *session) rollback() {
	if s.owner != nil {
		s.owner.undo.rollback()
	}
}

// detach gives an owned draft its own copies of the nodes of base it
// changed in place and base their saved contents (see detach in owner.go),
// relinking the draft's tree and the values in its log.
func (s *session) detach() {
	if s.owner == nil {
		return
	}
	r := detach(s.ed)
	if r == nil {
		return
	}
	s.root = r.value(s.root)
	for j := range s.log.n {
		e := s.log.at(j)
		e.val = r.value(e.val)
		if e.op != opMove { // a move keeps its source path in old
			e.old = r.value(e.old)
		}
	}
}

// Original returns the base the draft was opened on. In an owned produce
// it freezes the owner (base is handed out), and after that produce has
// returned it is the zero Value (base may have been consumed).
func (d *Draft) Original() Value { return d.s.original() }

func (s *session) original() Value {
	if !s.owned {
		return s.base
	}
	if s.done {
		return Value{}
	}
	s.flush()
	s.freeze()
	return s.base
}

// Current returns an immutable snapshot of the draft's present state
// (Immer's current). It is cheap: later changes copy what they touch.
func (d *Draft) Current() Value {
	if d.s.done {
		return Value{}
	}
	d.s.flush()
	d.s.freeze()
	return d.s.root
}

// IsModified reports whether the draft has changes so far (changes that
// were undone, like setting a key back, do not count).
func (d *Draft) IsModified() bool {
	if d.s.done {
		return false
	}
	d.s.flush()
	return d.s.log.live > 0
}

// freeze makes every node reachable now immutable by switching the draft
// to a new ownership token. An owned draft detaches first (so that base
// can still be restored without changing what escapes) and ends its
// owner's epoch.
func (s *session) freeze() {
	if s.owner == nil {
		s.ed = new(edit)
		return
	}
	s.detach()
	s.ed = s.owner.freezeNow()
}

// peek returns the value at p for internal reads whose result does not
// escape (no freeze).
func (s *session) peek(p Path) (Value, bool) {
	if s.done {
		return Value{}, false
	}
	s.flush()
	return s.root.At(p)
}

// read returns the value at p, frozen if it is a container the draft owns.
func (s *session) read(p Path) (Value, bool) {
	if s.done {
		return Value{}, false
	}
	s.flush()
	v, ok := s.root.At(p)
	if ok && ownedBy(v, s.ed) {
		s.freeze()
		if s.owner != nil { // detached: read the copy
			v, ok = s.root.At(p)
		}
	}
	return v, ok
}

func (s *session) fail(op string, p Path, err error) error {
	if err == errNoop {
		return nil
	}
	// A copy: p may be the caller's, or carved from an into produce's
	// room, which the next one carves again.
	return &PathError{Op: op, Path: slices.Clone(p), Err: err}
}

// set writes v at p (a map key: add or replace; a list index: replace; the
// root: replace).
func (s *session) set(p Path, v Value) error {
	if s.done {
		return ErrFinished
	}
	if !v.IsValid() {
		return &PathError{Op: "set", Path: slices.Clone(p), Err: ErrBadValue}
	}
	if s.pend.on && s.continueRun(p) {
		s.addToRun(p, v)
		return nil
	}
	s.flush()
	if len(p) == 0 {
		old := s.root
		if old.Equal(v) {
			return nil
		}
		s.root = v
		s.log.write(p, old.IsValid(), old, true, v, Value{})
		return nil
	}
	last := p[len(p)-1]
	var old Value
	var had bool
	canRun := last.kind() == segKey && s.log.fresh(p)
	root, err := update(s.ed, s.root, p[:len(p)-1], func(c Value) (Value, error) {
		switch c.kind {
		case MapKind:
			if canRun && c.num == 0 {
				return c, errStartRun
			}
			root, o, added := mapUpsert(s.ed, c.mroot(), last.Token(), v, true)
			old, had = o, !added
			if had && root == c.mroot() && old.Equal(v) {
				return c, errNoop
			}
			n := c.num
			if added {
				n++
			}
			return mapValue(n, root), nil
		case ListKind:
			i, err := itemIndex(c, last)
			if err != nil {
				return c, err
			}
			if old, had = listGet(c.lroot(), i), true; old.Equal(v) {
				return c, errNoop
			}
			nc, _ := c.listSet(s.ed, i, v)
			return nc, nil
		}
		return c, ErrWrongType
	})
	if err == errStartRun {
		s.pend.on, s.pend.path, s.pend.start, s.pend.n = true, p[:len(p)-1], s.log.n, 0
		s.addToRun(p, v)
		return nil
	}
	if err != nil {
		return s.fail("set", p, err)
	}
	s.setRoot(root)
	s.log.write(p, had, old, true, v, Value{})
	return nil
}

// setRoot makes root the draft's tree. A change in place below the root
// leaves it the same Value: the store is skipped then (a pointer store
// costs a barrier while the collector marks).
func (s *session) setRoot(root Value) {
	if root != s.root {
		s.root = root
	}
}

// errStartRun tells set that the key goes to an empty map: it starts a
// run of buffered adds instead of changing the tree.
var errStartRun = errors.New("draft: start a run of buffered adds")

// increment adds delta to the number at p.
func (s *session) increment(p Path, delta Value) error {
	if s.done {
		return ErrFinished
	}
	s.flush()
	if delta.kind != IntKind && delta.kind != FloatKind {
		return &PathError{Op: "increment", Path: slices.Clone(p), Err: ErrWrongType}
	}
	var old, nv Value
	root, err := update(s.ed, s.root, p, func(c Value) (Value, error) {
		if c.kind != IntKind && c.kind != FloatKind {
			return c, ErrWrongType
		}
		old, nv = c, addNumbers(c, delta)
		if nv.Equal(old) && nv.kind == old.kind {
			return c, errNoop
		}
		return nv, nil
	})
	if err != nil {
		return s.fail("increment", p, err)
	}
	if !nv.IsValid() {
		return nil
	}
	s.setRoot(root)
	s.log.write(p, true, old, true, nv, delta)
	return nil
}

// delete removes the map entry or list item at p.
func (s *session) delete(p Path) error {
	if s.done {
		return ErrFinished
	}
	s.flush()
	if len(p) == 0 {
		return &PathError{Op: "delete", Path: slices.Clone(p), Err: ErrBadPatch}
	}
	if parent, ok := s.root.At(p[:len(p)-1]); ok && parent.kind == ListKind {
		i, err := itemIndex(parent, p[len(p)-1])
		if err != nil {
			return s.fail("delete", p, err)
		}
		return s.removeRange(p[:len(p)-1], i, 1)
	}
	last := p[len(p)-1]
	var old Value
	root, err := update(s.ed, s.root, p[:len(p)-1], func(c Value) (Value, error) {
		if c.kind != MapKind {
			return c, ErrWrongType
		}
		nc, o, ok := c.mapDelete(s.ed, last.Token())
		if !ok {
			return c, ErrNotFound
		}
		old = o
		return nc, nil
	})
	if err != nil {
		return s.fail("delete", p, err)
	}
	s.root = root
	s.log.write(p, true, old, false, Value{}, Value{})
	return nil
}

// insert inserts vs into the list at lp before position at (End:
// append). lp may be the caller's: it is read, never kept.
func (s *session) insert(lp Path, at Segment, vs []Value) error {
	if s.done {
		return ErrFinished
	}
	s.flush()
	var i int
	fold := s.log.beforeStructural(lp, s.settle)
	root, err := update(s.ed, s.root, lp, func(c Value) (Value, error) {
		if c.kind != ListKind {
			return c, ErrWrongType
		}
		var err error
		if i, err = insertIndex(c, at); err != nil {
			return c, err
		}
		if len(vs) == 0 {
			return c, errNoop
		}
		for j, v := range vs {
			if !v.IsValid() {
				return c, ErrBadValue
			}
			c = c.listInsert(s.ed, i+j, v)
		}
		return c, nil
	})
	if err != nil {
		return s.fail("insert", lp.append(at), err)
	}
	if len(vs) == 0 {
		return nil
	}
	s.root = root
	if len(vs) == 1 {
		s.log.structural(fold, newEntry(opAdd, s.logPath(lp, Index(i)), vs[0], Value{}))
		return nil
	}
	es := make([]entry, len(vs))
	for j, v := range vs {
		es[j] = newEntry(opAdd, s.logPath(lp, Index(i+j)), v, Value{})
	}
	s.log.structural(fold, es...)
	return nil
}

// Runs of buffered adds. A set of a key (a Key segment) on a map that is
// empty starts a run; further sets on the same map, with nothing else in
// between, join it. Each is logged at once as an add and kept aside;
// flush builds the map from all of them in one sorted pass instead of
// one B+tree insert each (W4 sets 100,000 keys on an empty map). Until
// then the tree lacks them, so every other operation flushes first. A run
// needs the log's fresh condition, under which a write that creates a key
// merges with nothing (it holds for the whole run: its entries all have
// the same length); a key set twice in the run is caught and merged by
// flush.

// continueRun reports whether a set at p joins the open run.
func (s *session) continueRun(p Path) bool {
	if len(p) == 0 || p[len(p)-1].kind() != segKey {
		return false
	}
	parent, q := p[:len(p)-1], s.pend.path
	return len(parent) == len(q) && (len(q) == 0 || &parent[0] == &q[0] || parent.Equal(q))
}

// addToRun logs the set of v at p as an add and counts it in the run.
func (s *session) addToRun(p Path, v Value) {
	pa := &s.pend
	s.log.write(p, false, Value{}, true, v, Value{})
	if pa.n++; s.log.n != pa.start+pa.n {
		panic("draft: a buffered add did not append one log entry (broken invariant)")
	}
}

// flush puts the buffered keys into the tree. Sorting by key and then by
// log order brings a key set more than once together with its first set
// first: as write would have merged them, that entry takes the last value
// (an add stays an add) and the later ones are dropped.
func (s *session) flush() {
	pa := &s.pend
	if !pa.on {
		return
	}
	pa.on = false
	key := func(i int) string { e := s.log.at(pa.start + i); return e.path()[e.pathLen-1].key }
	order := pa.sorted(key)
	// Leaves are filled straight from the sorted run (their keys are
	// regions of one array), then mapBuildUp adds the inner levels.
	level := make([]*mnode, 0, (len(order)+mapLeafMax-1)/mapLeafMax)
	keys := make([]string, 0, len(order))
	var leaf [mapLeafMax]Value
	n, k := 0, 0
	for i := 0; i < len(order); {
		first, k0 := pa.start+int(order[i].i), key(int(order[i].i))
		j := i + 1
		for j < len(order) && order[j].pfx == order[i].pfx && key(int(order[j].i)) == k0 {
			s.log.kill(pa.start + int(order[j].i))
			j++
		}
		v := s.log.at(pa.start + int(order[j-1].i)).val
		if j-i > 1 {
			s.log.at(first).val = v
		}
		keys, leaf[k] = append(keys, k0), v
		if k++; k == mapLeafMax {
			level, k = append(level, newMapLeafIn(s.ed, keys[n+1-k:n+1], leaf[:])), 0
		}
		n++
		i = j
	}
	if k > 0 {
		level = append(level, newMapLeafIn(s.ed, keys[n-k:n], leaf[:k]))
	}
	m := mapValue(uint64(n), mapBuildUp(s.ed, level))
	root, err := update(s.ed, s.root, pa.path, func(Value) (Value, error) { return m, nil })
	if err != nil {
		panic("draft: buffered map vanished (broken invariant)")
	}
	s.root = root
	pa.reset()
}

// addOrder is a buffered key's place in the sort: the key's first eight
// bytes as a big-endian number (zero-padded, so comparing prefixes agrees
// with comparing strings wherever they differ) and its index in the run.
// It holds no pointer, so the sort moves it without write barriers.
type addOrder struct {
	pfx uint64
	i   uint32
}

// sorted returns the buffered keys in key order, a key set more than once
// in the order of its sets: a radix sort on the 8-byte prefixes (stable,
// so equal prefixes stay in the order of the sets), skipping the byte
// positions where all keys agree, then a comparison sort of each run of
// equal prefixes. W4's 100,000 keys sort about four times faster this way
// than with a comparison sort on the strings.
func (pa *pendingAdds) sorted(key func(i int) string) []addOrder {
	n := pa.n
	if cap(pa.order) < 2*n {
		pa.order = make([]addOrder, 2*n)
	}
	a, b := pa.order[:n], pa.order[n:2*n]
	for i := range n {
		k, x := key(i), uint64(0)
		for j := range min(len(k), 8) {
			x |= uint64(k[j]) << (56 - 8*j)
		}
		a[i] = addOrder{x, uint32(i)}
	}
	var count [256]int
	for shift := 0; shift < 64; shift += 8 {
		clear(count[:])
		for _, o := range a {
			count[byte(o.pfx>>shift)]++
		}
		if count[byte(a[0].pfx>>shift)] == n {
			continue
		}
		pos := 0
		for d, c := range count {
			count[d], pos = pos, pos+c
		}
		for _, o := range a {
			d := byte(o.pfx >> shift)
			b[count[d]] = o
			count[d]++
		}
		a, b = b, a
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && a[j].pfx == a[i].pfx {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(a[i:j], func(x, y addOrder) int {
				if c := strings.Compare(key(int(x.i)), key(int(y.i))); c != 0 {
					return c
				}
				return cmp.Compare(x.i, y.i)
			})
		}
		i = j
	}
	return a
}

// maxPooledAdds is the most buffered keys whose sort room (32 bytes
// each, no pointers) a pooled work keeps for the next draft: 4 MB, held
// until the pool is emptied by the garbage collector.
const maxPooledAdds = 1 << 17

// reset empties the buffer, keeping its room unless it grew large.
func (pa *pendingAdds) reset() {
	pa.on, pa.start, pa.n = false, 0, 0
	if pa.path != nil {
		pa.path = nil
	}
	if cap(pa.order) > 2*maxPooledAdds {
		pa.order = nil
	}
}

// settle re-reads pending patch values and freezes what they reference
// (freezing first, so an owned draft reads its detached tree).
func (s *session) settle() {
	if s.log.pending() {
		s.freeze()
		s.log.settle(s.root)
	}
}

// removeRange removes n items of the list at lp starting at i.
func (s *session) removeRange(lp Path, i, n int) error {
	if s.done {
		return ErrFinished
	}
	s.flush()
	var olds []Value
	fold := s.log.beforeStructural(lp, s.settle)
	root, err := update(s.ed, s.root, lp, func(c Value) (Value, error) {
		if c.kind != ListKind {
			return c, ErrWrongType
		}
		if i < 0 || n < 0 || i+n > int(c.num) {
			return c, ErrIndexRange
		}
		if n == 0 {
			return c, errNoop
		}
		olds = make([]Value, n)
		for j := range n {
			c, olds[j] = c.listRemove(s.ed, i)
		}
		return c, nil
	})
	if err != nil {
		return s.fail("remove", lp.append(Index(i)), err)
	}
	if n == 0 {
		return nil
	}
	s.root = root
	es := make([]entry, n)
	ip := s.logPath(lp, Index(i))
	for j := range n {
		es[j] = newEntry(opRemove, ip, Value{}, olds[j])
	}
	s.log.structural(fold, es...)
	return nil
}

// move moves the item at from in the list at lp so that it ends at to.
func (s *session) move(lp Path, from, to int) error {
	if s.done {
		return ErrFinished
	}
	s.flush()
	fold := s.log.beforeStructural(lp, s.settle)
	root, err := update(s.ed, s.root, lp, func(c Value) (Value, error) {
		if c.kind != ListKind {
			return c, ErrWrongType
		}
		if from < 0 || to < 0 || from >= int(c.num) || to >= int(c.num) {
			return c, ErrIndexRange
		}
		if from == to {
			return c, errNoop
		}
		c, x := c.listRemove(s.ed, from)
		return c.listInsert(s.ed, to, x), nil
	})
	if err != nil {
		return s.fail("move", lp.append(Index(from)), err)
	}
	if from == to {
		return nil
	}
	s.root = root
	fp, tp := s.logPath(lp, Index(from)), s.logPath(lp, Index(to))
	s.log.structural(fold, moveEntry(fp, tp))
	return nil
}

// maxSegChunk is the most segments path allocates at once (8 KB).
const maxSegChunk = 256

// path returns p followed by last in a new slice carved from a chunk
// shared with the draft's other paths, so the paths of a produce (one per
// patch, one per sub-draft) cost an allocation per chunk instead of one
// each. When p is itself the last path carved (a sub-draft's path, then
// a path under it), only last is added after it and the two share p's
// segments. The first chunk is as long as all the paths of the previous
// draft that used this work (a produce like the one before fits in one
// chunk and wastes nothing; the very first is exactly its first path),
// then each chunk is twice the previous one, up to maxSegChunk (an
// owner's work keeps its chunk from one produce to the next, so its
// chunks soon have that size). Carved paths have no spare capacity, so
// appending to one copies it; the chunk is never written again where a
// path was carved.
func (s *session) path(p Path, last Segment) Path {
	n := len(p) + 1
	if s.done { // no work: the operation this path is for will fail
		q := make(Path, n) // not append(p, ...), which would make p escape
		copy(q, p)
		q[n-1] = last
		return q
	}
	l := len(s.segs)
	if l > 0 && n > 1 && l < cap(s.segs) && &p[n-2] == &s.segs[l-1] {
		s.segs = append(s.segs, last)
		s.segsUsed++
		return s.segs[l+1-n : l+1 : l+1]
	}
	if cap(s.segs)-l < n {
		size := 2 * cap(s.segs)
		if size == 0 {
			size = s.segHint
		}
		s.segs = make([]Segment, 0, max(n, min(size, maxSegChunk)))
		l = 0
	}
	s.segs = append(append(s.segs, p...), last)
	s.segsUsed += n
	return s.segs[l : l+n : l+n]
}

// own returns a copy of the caller's path p for the draft to keep (the
// patches' paths), carved as logPath carves (nil if the draft is
// finished: the operation fails before it reads the path). The draft so
// keeps no reference to a caller's path: the caller may reuse it, and
// one built for the call can stay on the caller's stack.
func (s *session) own(p Path) Path {
	switch {
	case s.done:
		return nil
	case len(p) == 0:
		if p == nil {
			return nil
		}
		return Path{}
	}
	return s.logPath(p[:len(p)-1], p[len(p)-1])
}

// logPath is path for a patch's path. In an into produce
// (ProduceForwardOwnedAppend) it is carved from intoSegs, which the next
// into produce carves from the start again: that caller consumes the
// patches first, so the paths of a stream of one-write produces take no
// fresh memory. Other paths (sub-drafts', which a caller may keep)
// always come from path.
func (s *session) logPath(p Path, last Segment) Path {
	if s.done || !s.into {
		return s.path(p, last)
	}
	n, l := len(p)+1, s.intoUsed
	if len(s.intoSegs)-l < n {
		s.intoSegs = make([]Segment, max(n, min(2*len(s.intoSegs), maxSegChunk), minIntoSegs))
		l = 0
	}
	s.intoUsed = l + n
	q := s.intoSegs[l : l+n : l+n]
	// The same path again (a counter, a key written over and over) finds
	// its segments in place: writing one (a string pointer) costs a
	// barrier while the collector marks. Copying forward is right also
	// for a path in the room at or after l (a stale patch path passed
	// back in, still intact there); one that started before l was
	// overwritten by this produce's paths already.
	for i := range p {
		if q[i] != p[i] {
			q[i] = p[i]
		}
	}
	if q[n-1] != last {
		q[n-1] = last
	}
	return q
}

// minIntoSegs is the size of an owner's first into room, in segments:
// a few short paths, 384 bytes.
const minIntoSegs = 16

// Path-addressed operations on the root draft.

// Get returns an immutable snapshot of the value at p.
func (d *Draft) Get(p Path) (Value, error) {
	if d.s.done {
		return Value{}, ErrFinished
	}
	v, ok := d.s.read(p)
	if !ok {
		return Value{}, d.s.fail("get", p, ErrNotFound)
	}
	return v, nil
}

// Set writes v at p: adds or replaces a map entry, replaces a list item,
// or (empty p) replaces the root. v must be valid (not the zero Value).
// Setting a value equal to the present one is a no-op. The draft keeps
// no reference to p: the caller may change or reuse it afterwards.
func (d *Draft) Set(p Path, v Value) error { return d.s.set(d.s.own(p), v) }

// Delete removes the map entry or list item at p.
func (d *Draft) Delete(p Path) error { return d.s.delete(d.s.own(p)) }

// Insert inserts vs before the list position named by p's last segment
// (an index 0..Len, or End). As with Set, the draft keeps no reference
// to p.
func (d *Draft) Insert(p Path, vs ...Value) error {
	if len(p) == 0 {
		return &PathError{Op: "insert", Path: Path{}, Err: ErrWrongType}
	}
	return d.s.insert(p[:len(p)-1], p[len(p)-1], vs)
}

// Append appends vs to the list at p.
func (d *Draft) Append(p Path, vs ...Value) error { return d.s.insert(p, End(), vs) }

// RemoveRange removes n items starting at index i from the list at p.
func (d *Draft) RemoveRange(p Path, i, n int) error { return d.s.removeRange(p, i, n) }

// Move moves item from to index to within the list at p.
func (d *Draft) Move(p Path, from, to int) error { return d.s.move(p, from, to) }

// Increment adds delta (Int or Float) to the number at p. Int+Int stays an
// Int; anything with a Float gives a Float. The patch is a replace with
// the new value and Delta set.
func (d *Draft) Increment(p Path, delta Value) error { return d.s.increment(d.s.own(p), delta) }

// Map returns a sub-draft for the map under key of the root map.
func (d *Draft) Map(key string) *MapDraft { return &MapDraft{d: d, path: Path{Key(key)}} }

// List returns a sub-draft for the list under key of the root map.
func (d *Draft) List(key string) *ListDraft { return &ListDraft{d: d, path: Path{Key(key)}} }

// Root returns a sub-draft for the root as a map.
func (d *Draft) Root() *MapDraft { return &MapDraft{d: d, path: Path{}} }

// RootList returns a sub-draft for the root as a list.
func (d *Draft) RootList() *ListDraft { return &ListDraft{d: d, path: Path{}} }

// MapAt returns a sub-draft for the map at p.
func (d *Draft) MapAt(p Path) *MapDraft { return &MapDraft{d: d, path: p.append()} }

// ListAt returns a sub-draft for the list at p.
func (d *Draft) ListAt(p Path) *ListDraft { return &ListDraft{d: d, path: p.append()} }

// MapDraft addresses a map inside a draft by path. It is a cheap handle:
// nothing is checked until an operation runs, and then a missing path or
// a value that is not a map is that operation's error. Not safe for
// concurrent use.
type MapDraft struct {
	d    *Draft // its draft: d.s is the session (a finished one after the produce)
	path Path
}

// Path returns the path of the map this sub-draft addresses.
func (m *MapDraft) Path() Path { return m.path.append() }

// at is not inlined, so that Map and List stay inlinable and the handles
// they return stay on the caller's stack.
//
//go:noinline
func (m *MapDraft) at(key string) Path { return m.d.s.path(m.path, Key(key)) }

// Value returns an immutable snapshot of the map (the zero Value if the
// path does not resolve).
func (m *MapDraft) Value() Value { v, _ := m.d.s.read(m.path); return v }

// Original returns the map in the draft's base (zero Value if absent).
func (m *MapDraft) Original() Value { v, _ := m.d.s.original().At(m.path); return v }

// Get returns the value under key, as an immutable snapshot.
func (m *MapDraft) Get(key string) (Value, bool) { return m.d.s.read(m.at(key)) }

// Has reports whether the map has key.
func (m *MapDraft) Has(key string) bool {
	v, ok := m.d.s.peek(m.path)
	return ok && v.Has(key)
}

// Len returns the number of entries (0 if the path does not resolve).
func (m *MapDraft) Len() int {
	v, _ := m.d.s.peek(m.path)
	return v.Len()
}

// Set adds or replaces the entry under key.
func (m *MapDraft) Set(key string, v Value) error { return m.d.s.set(m.at(key), v) }

// Delete removes the entry under key (ErrNotFound if absent).
func (m *MapDraft) Delete(key string) error { return m.d.s.delete(m.at(key)) }

// Increment adds delta to the number under key.
func (m *MapDraft) Increment(key string, delta Value) error {
	return m.d.s.increment(m.at(key), delta)
}

// Map returns a sub-draft for the map under key.
func (m *MapDraft) Map(key string) *MapDraft { return &MapDraft{d: m.d, path: m.at(key)} }

// List returns a sub-draft for the list under key.
func (m *MapDraft) List(key string) *ListDraft { return &ListDraft{d: m.d, path: m.at(key)} }

// ListDraft addresses a list inside a draft by path; like MapDraft it is
// checked when an operation runs. Not safe for concurrent use.
type ListDraft struct {
	d    *Draft // its draft: d.s is the session (a finished one after the produce)
	path Path
}

// Path returns the path of the list this sub-draft addresses.
func (l *ListDraft) Path() Path { return l.path.append() }

//go:noinline
func (l *ListDraft) at(i int) Path { return l.d.s.path(l.path, Index(i)) }

// Value returns an immutable snapshot of the list.
func (l *ListDraft) Value() Value { v, _ := l.d.s.read(l.path); return v }

// Original returns the list in the draft's base (zero Value if absent).
func (l *ListDraft) Original() Value { v, _ := l.d.s.original().At(l.path); return v }

// Len returns the number of items (0 if the path does not resolve).
func (l *ListDraft) Len() int {
	v, _ := l.d.s.peek(l.path)
	return v.Len()
}

// Get returns the item at i, as an immutable snapshot.
func (l *ListDraft) Get(i int) (Value, bool) { return l.d.s.read(l.at(i)) }

// Set replaces the item at i.
func (l *ListDraft) Set(i int, v Value) error { return l.d.s.set(l.at(i), v) }

// Insert inserts vs before index i (0 <= i <= Len).
func (l *ListDraft) Insert(i int, vs ...Value) error { return l.d.s.insert(l.path, Index(i), vs) }

// Append appends vs at the end.
func (l *ListDraft) Append(vs ...Value) error { return l.d.s.insert(l.path, End(), vs) }

// RemoveRange removes n items starting at i.
func (l *ListDraft) RemoveRange(i, n int) error { return l.d.s.removeRange(l.path, i, n) }

// Delete removes the item at i.
func (l *ListDraft) Delete(i int) error { return l.d.s.removeRange(l.path, i, 1) }

// Move moves the item at from so that it ends at index to.
func (l *ListDraft) Move(from, to int) error { return l.d.s.move(l.path, from, to) }

// Increment adds delta to the number at i.
func (l *ListDraft) Increment(i int, delta Value) error { return l.d.s.increment(l.at(i), delta) }

// Map returns a sub-draft for the map at index i.
func (l *ListDraft) Map(i int) *MapDraft { return &MapDraft{d: l.d, path: l.at(i)} }

// List returns a sub-draft for the list at index i.
func (l *ListDraft) List(i int) *ListDraft { return &ListDraft{d: l.d, path: l.at(i)} }
