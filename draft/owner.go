package draft

import "unsafe"

// Owned mode.
//
// A plain produce copies every node on the path of a change, because base
// may be held by anyone. When base has a single owner that keeps no other
// version (a replica's materialised state, say), those copies are waste.
// An Owner lets a run of produces and applies change the nodes it made
// itself in place:
//
//   - Every edit (one owned produce or apply) has its own token, and the
//     tokens of an owner's edits share the owner's current epoch. An edit
//     changes its own nodes in place, as any draft does; a node of an
//     earlier edit of the same epoch (a node of base the owner made) it
//     first saves in the owner's undo log, then adopts and changes in
//     place. Other nodes (unowned, another owner's, an ended epoch's) are
//     copied, and the copy belongs to the edit.
//   - Freeze ends the epoch in O(1): tokens of an ended epoch never match
//     again, so every node made so far is immutable for good.
//   - Atomicity: the undo log restores every adopted node when a recipe
//     fails, panics or changes nothing, and when Revert asks for it, so
//     base is then exactly what it was.
//   - Escape: a Value that leaves the owner is frozen first (the owner's
//     epoch ends). A read inside an owned recipe that yields a container
//     the edit may change (Get, Value, Current), Original, Freeze, and a
//     produce whose patches carry such a container freeze the owner; and
//     since the read must show the draft while base must stay restorable,
//     the draft first takes its own copies of the adopted nodes and base
//     gets its nodes back (detach).

// edit is an ownership token. A tree node whose ed equals the token of the
// running edit (a live draft or an Apply call) was created by that edit and
// is not reachable from any published Value, so the edit may change it in
// place. A nil token means "persistent": every change copies. Tokens are
// never reused, so nodes of finished plain edits are frozen for good; a
// node of a finished owned edit stays changeable by the owner's later
// edits while its epoch lasts.
type edit struct {
	ep *epoch // the owner's epoch (nil: a plain edit)
}

// epoch is a stretch of an owner's edits between two freezes.
type epoch struct {
	// u is the owner's undo log until the epoch ends, nil after (so that
	// frozen nodes, through their tokens, do not keep the owner alive).
	u *undoLog
}

// adopts reports whether ed may take over x's nodes: x is an earlier edit
// of ed's epoch, which has not ended. ed must be the running edit.
func (ed *edit) adopts(x *edit) bool {
	return x != nil && ed.ep != nil && x.ep == ed.ep && ed.ep.u != nil
}

// What adopting a node saves depends on the change. For a change of
// structure (mine): its header and its whole array (values, children or
// kids). For a change of one slot (mineAt), or none at all because only a
// node below changed in place (retag): its token, and the slot. A list
// leaf insert or remove (mineFrom) saves the header and the items from the
// change on. A node adopted with less than its whole array saved is marked
// part, and each later change of it by the same edit saves what it
// overwrites first (a slot, or the header and array before a change of
// structure). A W1 write so saves four tokens and one value instead of
// four nodes. part means something only while n.ed is the running edit.

// mine reports whether ed may change n in any way (a change of structure):
// n is ed's, or ed adopts it, saving it first.
func (n *mnode) mine(ed *edit) bool {
	if ed == nil {
		return false
	}
	if n.ed == ed {
		if n.part { // adopted for slots: save the rest now
			ed.ep.u.saveMapHeader(n)
			ed.ep.u.saveMapArray(n)
			n.part = false
		}
		return true
	}
	if !ed.adopts(n.ed) {
		return false
	}
	ed.ep.u.saveMapHeader(n)
	ed.ep.u.saveMapArray(n)
	n.ed, n.part = ed, false
	return true
}

// mineAt is mine for a change of slot i only.
func (n *mnode) mineAt(ed *edit, i int) bool {
	if !n.retag(ed) {
		return false
	}
	if n.part {
		ed.ep.u.saveMapSlot(n, i)
	}
	return true
}

// retag is mine for no change at all: n stays as it is, but a node below
// it was adopted, so ed takes n over too (see keepParent). Adopting n
// saves only its token.
func (n *mnode) retag(ed *edit) bool {
	if ed == nil {
		return false
	}
	if n.ed == ed {
		return true
	}
	if !ed.adopts(n.ed) {
		return false
	}
	ed.ep.u.mtags = append(ed.ep.u.mtags, mapTag{n, n.ed, n.part})
	n.ed, n.part = ed, true
	return true
}

// mine is mnode.mine for list nodes.
func (n *lnode) mine(ed *edit) bool {
	if ed == nil {
		return false
	}
	if n.ed == ed {
		if n.part { // adopted for slots: save the rest now
			ed.ep.u.saveListHeader(n)
			ed.ep.u.saveListArray(n)
			n.part = false
		}
		return true
	}
	if !ed.adopts(n.ed) {
		return false
	}
	ed.ep.u.saveListHeader(n)
	ed.ep.u.saveListArray(n)
	n.ed, n.part = ed, false
	return true
}

// mineAt is mnode.mineAt for list nodes: slot i of a leaf's items or an
// inner node's kids. The last kid of an inner node (the tail) is in the
// header, which is saved then; a front kid of a node that does not own
// its front array is a change of the header too (setKid copies the array
// first).
func (n *lnode) mineAt(ed *edit, i int) bool {
	switch {
	case n.leaf() || (i < int(n.n)-1 && n.pown):
		if !n.retag(ed) {
			return false
		}
		if n.part {
			ed.ep.u.saveListSlot(n, i)
		}
		return true
	case i < int(n.n)-1:
		return n.mine(ed)
	}
	return n.mineHeader(ed)
}

// mineHeader is mine for a change of the header only (an inner node's
// tail).
func (n *lnode) mineHeader(ed *edit) bool {
	if ed == nil {
		return false
	}
	if n.ed == ed {
		if n.part {
			ed.ep.u.saveListHeader(n)
		}
		return true
	}
	if !ed.adopts(n.ed) {
		return false
	}
	ed.ep.u.saveListHeader(n)
	n.ed, n.part = ed, true
	return true
}

// mineFrom is mine for a leaf change that writes items from index from on
// and the header (an insert or remove shifts the items after it).
func (n *lnode) mineFrom(ed *edit, from int) bool {
	if !n.mineHeader(ed) {
		return false
	}
	if n.part {
		ed.ep.u.saveVals(n.arr, n.items()[from:], from)
	}
	return true
}

// mineInsert is mineFrom for an insert at i into a leaf that has room for
// it and does not split: an adopted leaf records where its items moved
// instead of saving them (an insert in the middle of a leaf of 16 saved
// eight values, with a write barrier each while the GC marks), and
// rollback moves them back.
func (n *lnode) mineInsert(ed *edit, i int) bool {
	if !n.mineHeader(ed) {
		return false
	}
	if n.part {
		u := ed.ep.u
		u.cont = append(u.cont, contents{arr: n.arr, i: int32(i), n: int32(n.n), what: inShifted})
	}
	return true
}

// growKid adds one to the size of kid k of inner node n, in place, and
// reports whether it could: ed owns or adopts n, and the kid is the tail
// (in the header) or in an array n writes in place. An adopted node
// records the count it changed, not the kid (an insert below changes only
// the counts on its path, and the kid's pointer needs no write, nor the
// write barrier that goes with it while the GC marks).
func (n *lnode) growKid(ed *edit, k int) bool {
	if k == int(n.n)-1 {
		if !n.mineHeader(ed) {
			return false
		}
		n.tail().size++
		return true
	}
	if !n.pown || !n.retag(ed) {
		return false
	}
	if n.part {
		u := ed.ep.u
		u.cont = append(u.cont, contents{arr: n.arr, i: int32(k), what: inKidGrown})
	}
	n.front()[k].size++
	return true
}

// retag is mnode.retag for list nodes.
func (n *lnode) retag(ed *edit) bool {
	if ed == nil {
		return false
	}
	if n.ed == ed {
		return true
	}
	if !ed.adopts(n.ed) {
		return false
	}
	u := ed.ep.u
	u.ltags = append(u.ltags, listTag{n, n.ed, n.part})
	n.ed, n.part = ed, true
	return true
}

// Owner is the owner of a state that owned produces and applies change in
// place (see ProduceForwardOwned). The zero Owner is ready to use.
//
// An Owner is not safe for concurrent use, and neither is an unfrozen
// state it owns: one goroutine runs the owned operations and reads the
// state between them. A frozen Value (after Freeze) is safe to share.
// Owned operations under one Owner may not nest (a recipe may not start
// another owned operation with the same Owner).
//
// The caller's side of the contract: the state passed as base to an owned
// operation is the result of the owner's previous owned operation (or a
// frozen Value, or one made without this owner); once an owned operation
// has returned, its base must not be used again (the result may share and
// have changed its nodes); and a Value taken from the owned state by any
// other means (At, Get, Range, a plain Produce or Apply on it, ...) may
// not be kept past the next owned operation, or passed into one, unless
// the owner was frozen after it was taken.
type Owner struct {
	ep *epoch // the current epoch; nil after Freeze (a new one starts lazily)
	// sess is the session of the owner's produces, reused by each (read
	// only while busy); draft is the running produce's Draft, and
	// finished the session a produce's Draft (so its sub-drafts) points
	// to once that produce has returned: done, so it answers ErrFinished.
	sess, finished *session
	draft          *Draft
	undo           undoLog
	slab           []Patch // room for produces' patches (see patchRoom)
	// spare is the owner's work (its owner field stays o), reused by each
	// produce; workOut is set while a produce uses it, and stays set after
	// a produce panicked (its work is then left as it was, and replaced).
	spare   *work
	workOut bool
	// tokens and drafts are room for the tokens of the owner's operations
	// and the Drafts of its produces (see newEdit and newDraft).
	tokens slab[edit]
	drafts slab[Draft]
	busy   bool
	saved  bool // undo holds the last operation's saves (Revert may use them)
}

// NewOwner returns a new Owner (the same as a zero Owner).
func NewOwner() *Owner { return new(Owner) }

// Busy reports whether one of the owner's operations is running (the
// caller is inside an owned recipe): the owned state is then being
// changed and may be neither read nor changed by other means.
func (o *Owner) Busy() bool { return o.busy }

// Freeze ends the owner's epoch in O(1): every node of every Value the
// owner has made so far is immutable from now on, so the current state
// may be handed out, kept and shared between goroutines. Later owned
// operations copy what they change once more, and then work in place
// again. Freeze also forgets the last operation's undo (Revert does
// nothing after it). Called from inside an owned recipe (which may hand
// base out, say), it freezes as the recipe's Original does: base gets its
// adopted nodes back and the draft continues on copies.
func (o *Owner) Freeze() {
	if o.busy {
		if o.sess != nil && !o.sess.done {
			o.sess.freeze()
		}
		return
	}
	o.endEpoch()
	o.forget()
}

// Revert undoes the owner's last owned operation if nothing happened
// since (no other owned operation, no Freeze): the nodes it changed in
// place get their contents back, so its base is exactly what it was, and
// the Value it returned must not be used again. It is for a caller that
// rejects a result after the fact. Otherwise it does nothing. Patches the
// operation returned stay valid (they hold only frozen values). From
// inside an owned recipe it does nothing (return an error instead).
func (o *Owner) Revert() {
	if o.busy {
		return
	}
	if o.saved {
		o.undo.rollback()
		o.saved = false
	}
}

// forget drops the undo log of the last operation (it committed).
func (o *Owner) forget() {
	if o.saved {
		o.undo.reset()
		o.saved = false
	}
}

// begin starts an owned operation and returns its token.
func (o *Owner) begin() (*edit, error) {
	if o.busy {
		return nil, ErrOwnerBusy
	}
	e := o.newEdit()
	o.start(e)
	return e, nil
}

// Tokens and Drafts are carved from small slabs, one allocation per
// tokenSlab operations or draftSlab produces instead of one each (a
// one-write produce is mostly fixed cost, and this was the largest part).
// Each is still used once: a token is never reused (nodes compare
// tokens), and neither is a Draft (one kept past its produce, or a
// sub-draft made from it, must keep answering ErrFinished: its produce
// points it at the owner's finished session when it ends). The session
// behind them is the owner's, reused by every produce: a Draft is 8
// bytes where a session per produce was 48. A node keeps its token's
// slab alive: tokenSlab tokens of 8 bytes are no more than the 64-byte
// session and token a produce allocated before; a slab of Drafts is kept
// only by Drafts kept past their produce. Both slabs stay within 512
// bytes, the largest objects that need no malloc header (see patchSlab
// too).
const (
	tokenSlab = 8
	draftSlab = 64
)

// newEdit returns a fresh token (not yet of an epoch).
func (o *Owner) newEdit() *edit { return o.tokens.take(tokenSlab) }

// newDraft returns a fresh Draft on the owner's session (made on first
// use), for a produce.
func (o *Owner) newDraft() *Draft {
	if o.sess == nil {
		o.sess = new(session)
		o.finished = &session{done: true, owned: true}
	}
	d := o.drafts.take(draftSlab)
	d.s = o.sess
	return d
}

// finish points the running produce's Draft, and so its sub-drafts, at
// the owner's finished session: the produce has ended.
func (o *Owner) finish() {
	if o.draft != nil {
		o.draft.s, o.draft = o.finished, nil
	}
}

// slab hands out the items of a slab one by one. Taking one moves a
// count, not a slice: a slice header write is a pointer write, which
// costs a barrier while the collector marks.
type slab[T any] struct {
	items []T // the current slab: items from used on are unused
	used  int
}

// take returns the next unused item, starting a slab of n items when the
// current one is used up.
func (s *slab[T]) take(n int) *T {
	if s.used == len(s.items) {
		s.items, s.used = make([]T, n), 0
	}
	s.used++
	return &s.items[s.used-1]
}

// start starts an owned operation whose token is e (not busy).
func (o *Owner) start(e *edit) {
	o.forget()
	o.busy = true
	o.stamp(e)
}

// patchSlab is the number of patches an owner allocates at once for the
// patches of its produces: 4 of 112 bytes fill Go's 448-byte size class,
// the largest whose objects need no malloc header (a slab of 73 filling
// 8 KB cost as much in span setup and type headers as it saved). Most
// produces make one or two patches. A caller that keeps one produce's
// patches keeps its slab alive.
const patchSlab = 4

// patchRoom returns n fresh (zero) patches: carved from the owner's slab
// when o is not nil and n is small, else allocated. Carved slices have no
// spare capacity and are never written again by the owner.
func (o *Owner) patchRoom(n int) []Patch {
	if o == nil || n > patchSlab {
		return make([]Patch, n)
	}
	if cap(o.slab)-len(o.slab) < n {
		o.slab = make([]Patch, 0, patchSlab)
	}
	l := len(o.slab)
	o.slab = o.slab[:l+n]
	return o.slab[l : l+n : l+n]
}

// edit returns a new token of the owner's epoch (starting one if needed)
// for a running operation.
func (o *Owner) edit() *edit {
	e := o.newEdit()
	o.stamp(e)
	return e
}

// stamp makes e a token of the owner's epoch (starting one if needed). An
// epoch points at the owner's undo log until it ends, so the nodes of the
// owner's live state keep the owner alive, and frozen ones do not.
func (o *Owner) stamp(e *edit) {
	if o.ep == nil {
		o.ep = &epoch{u: &o.undo}
	}
	e.ep = o.ep
}

// endEpoch ends the epoch: its tokens never match again.
func (o *Owner) endEpoch() {
	if o.ep != nil {
		o.ep.u = nil
		o.ep = nil
	}
}

// end finishes the running operation: it keeps the undo log for Revert
// when ok (the operation committed) and rolls it back otherwise.
func (o *Owner) end(ok bool) {
	if ok {
		o.saved = !o.undo.empty()
	} else {
		o.undo.rollback()
		o.saved = false
	}
	o.busy = false // o.sess stays: it is read only while busy
}

// freezeNow ends the epoch during an operation and returns the token the
// operation continues with, of a new epoch. The undo log stays: it still
// restores base (a caller that lets values escape detaches first, so
// that no escaped value shares an adopted node).
func (o *Owner) freezeNow() *edit {
	o.endEpoch()
	return o.edit()
}

// undoLog holds what an owned edit overwrote in the nodes it adopted: their
// headers as they were, and the contents of their arrays, whole or slot
// by slot. Its slices are reused from one edit to the next.
type undoLog struct {
	mtags []mapTag
	ltags []listTag
	maps  []mapHeader
	lists []listHeader
	cont  []contents
	vals  []Value
	mkids []*mnode
	lkids []lkid
}

type mapHeader struct {
	n *mnode
	h mnode
}

// mapTag is the token of a node adopted for a change of slots (its only
// header fields that change until a change of structure saves the whole
// header).
type mapTag struct {
	n    *mnode
	ed   *edit
	part bool
}

// listTag is mapTag for list nodes.
type listTag struct {
	n    *lnode
	ed   *edit
	part bool
}

type listHeader struct {
	n *lnode
	h innerHead // a leaf's header is h.n
}

// contents is a saved stretch of an array: n elements from index i of the
// array at arr, kept in vals, mkids or lkids (by what) from off. Or a
// change, with no contents: inShifted, a leaf of n items at arr took an
// insert at i in place (items i..n-1 moved one up; item n was zero, as a
// leaf's items past its length always are); inKidGrown, the size of kid i
// of the kids array at arr grew by one.
type contents struct {
	arr       unsafe.Pointer
	i, n, off int32
	what      uint8
}

const (
	inVals uint8 = iota
	inMKids
	inLKids
	inShifted
	inKidGrown
)

func (u *undoLog) empty() bool {
	return len(u.mtags) == 0 && len(u.ltags) == 0 && len(u.maps) == 0 && len(u.lists) == 0
}

func (u *undoLog) saveMapHeader(n *mnode) { u.maps = append(u.maps, mapHeader{n, *n}) }

// saveMapArray saves a node's values or children (its keys array is never
// written in place by an edit that adopts it: ked stays the old token).
func (u *undoLog) saveMapArray(n *mnode) {
	if n.leaf() {
		u.saveVals(n.arr, n.vals(), 0)
	} else {
		u.saveMKids(n.arr, n.kids(), 0)
	}
}

func (u *undoLog) saveMapSlot(n *mnode, i int) {
	if n.leaf() {
		u.saveVals(n.arr, n.vals()[i:i+1], i)
	} else {
		u.saveMKids(n.arr, n.kids()[i:i+1], i)
	}
}

func (u *undoLog) saveListHeader(n *lnode) {
	h := listHeader{n: n}
	if n.leaf() {
		h.h.n = *n
	} else {
		h.h = *(*innerHead)(unsafe.Pointer(n))
	}
	u.lists = append(u.lists, h)
}

// saveListArray saves a leaf's items, or an inner node's front kids when
// it writes them in place (pown; otherwise a change copies them first).
func (u *undoLog) saveListArray(n *lnode) {
	if n.leaf() {
		u.saveVals(n.arr, n.items(), 0)
	} else if n.pown {
		u.saveLKids(n.arr, n.front(), 0)
	}
}

func (u *undoLog) saveListSlot(n *lnode, i int) {
	if n.leaf() {
		u.saveVals(n.arr, n.items()[i:i+1], i)
	} else if n.pown && i < int(n.n)-1 {
		u.saveLKids(n.arr, n.front()[i:i+1], i)
	}
}

func (u *undoLog) saveVals(arr unsafe.Pointer, s []Value, i int) {
	u.cont = append(u.cont, contents{arr, int32(i), int32(len(s)), int32(len(u.vals)), inVals})
	u.vals = append(u.vals, s...)
}

func (u *undoLog) saveMKids(arr unsafe.Pointer, s []*mnode, i int) {
	u.cont = append(u.cont, contents{arr, int32(i), int32(len(s)), int32(len(u.mkids)), inMKids})
	u.mkids = append(u.mkids, s...)
}

func (u *undoLog) saveLKids(arr unsafe.Pointer, s []lkid, i int) {
	u.cont = append(u.cont, contents{arr, int32(i), int32(len(s)), int32(len(u.lkids)), inLKids})
	u.lkids = append(u.lkids, s...)
}

// rollback restores every saved node and empties the log, each kind of
// record latest first, so that a node saved more than once gets what its
// first save holds: the contents of arrays (each record into the array it
// was taken from, which only the edit wrote since; an inShifted or
// inKidGrown record undoes its change, every later change of that array
// being undone before it, as each is recorded before it is made), then
// whole headers, then the tokens of nodes adopted for slots (a node's tag
// record, if any, is its first record: the headers saved after it hold
// the edit's token).
func (u *undoLog) rollback() {
	for k := len(u.cont) - 1; k >= 0; k-- {
		c := &u.cont[k]
		switch c.what {
		case inVals:
			copy(unsafe.Slice((*Value)(c.arr), c.i+c.n)[c.i:], u.vals[c.off:c.off+c.n])
		case inMKids:
			copy(unsafe.Slice((**mnode)(c.arr), c.i+c.n)[c.i:], u.mkids[c.off:c.off+c.n])
		case inShifted:
			// Every later write to the array was undone already, so it
			// holds what the insert left.
			it := unsafe.Slice((*Value)(c.arr), c.n+1)
			copy(it[c.i:], it[c.i+1:])
			it[c.n] = Value{}
		case inKidGrown:
			unsafe.Slice((*lkid)(c.arr), c.i+1)[c.i].size--
		default:
			copy(unsafe.Slice((*lkid)(c.arr), c.i+c.n)[c.i:], u.lkids[c.off:c.off+c.n])
		}
	}
	for k := len(u.maps) - 1; k >= 0; k-- {
		*u.maps[k].n = u.maps[k].h
	}
	for k := len(u.lists) - 1; k >= 0; k-- {
		h := &u.lists[k]
		if h.h.n.leaf() {
			*h.n = h.h.n
		} else {
			*(*innerHead)(unsafe.Pointer(h.n)) = h.h
		}
	}
	for k := len(u.mtags) - 1; k >= 0; k-- {
		t := &u.mtags[k]
		t.n.ed, t.n.part = t.ed, t.part
	}
	for k := len(u.ltags) - 1; k >= 0; k-- {
		t := &u.ltags[k]
		t.n.ed, t.n.part = t.ed, t.part
	}
	u.reset()
}

// maxUndo is the most saved entries of each kind whose room an owner
// keeps between operations.
const maxUndo = 1 << 12

// reset empties the log. It does not clear the room it keeps (the write
// barriers of clearing cost as much as the saving): what it held stays
// reachable from it until overwritten, at most maxUndo entries of each
// kind; room that grew beyond that is dropped.
func (u *undoLog) reset() {
	resetRoom(&u.mtags)
	resetRoom(&u.ltags)
	resetRoom(&u.maps)
	resetRoom(&u.lists)
	resetRoom(&u.cont)
	resetRoom(&u.vals)
	resetRoom(&u.mkids)
	resetRoom(&u.lkids)
}

func resetRoom[T any](s *[]T) {
	switch {
	case cap(*s) > maxUndo:
		*s = nil
	case len(*s) > 0: // a store only when needed: each costs a write barrier while the GC marks
		*s = (*s)[:0]
	}
}

// detach gives the edit ed its own copies of the nodes it adopted (with
// their present contents) and gives the adopted nodes their saved
// contents back, then points every reference that ed's nodes (and the
// values the caller passes through relink) hold to an adopted node at its
// copy instead. Afterwards base is exactly what it was and shares nothing
// that ed may change, so values of the draft may escape once the epoch
// ends. It returns the relinker, nil if nothing was adopted.
func detach(ed *edit) *relinker {
	if ed.ep == nil || ed.ep.u == nil || ed.ep.u.empty() {
		return nil
	}
	u := ed.ep.u
	r := &relinker{ed: ed, to: make(map[unsafe.Pointer]unsafe.Pointer, len(u.mtags)+len(u.maps)+len(u.lists)), seen: map[unsafe.Pointer]bool{}}
	cloneMap := func(n *mnode) {
		if _, ok := r.to[unsafe.Pointer(n)]; !ok {
			c := n.own(nil, 0) // the present contents; shares the keys, never writes them
			c.ed = ed
			r.to[unsafe.Pointer(n)] = unsafe.Pointer(c)
		}
	}
	for i := range u.mtags {
		cloneMap(u.mtags[i].n)
	}
	for i := range u.maps {
		cloneMap(u.maps[i].n)
	}
	cloneList := func(n *lnode) {
		if _, ok := r.to[unsafe.Pointer(n)]; ok {
			return
		}
		var c *lnode
		if n.leaf() {
			c = newListLeaf(ed, n.items(), int(n.n))
		} else {
			var buf [listBranchMax + 2]lkid
			c = newListInner(ed, n.kidsTo(buf[:0]), int(n.n))
		}
		r.to[unsafe.Pointer(n)] = unsafe.Pointer(c)
	}
	for i := range u.ltags {
		cloneList(u.ltags[i].n)
	}
	for i := range u.lists {
		cloneList(u.lists[i].n)
	}
	u.rollback()
	return r
}

// relinker points references to adopted nodes at their copies (see
// detach). It descends only into nodes of ed (copies and nodes ed made):
// any node above an adopted one is ed's, since adopting or copying a
// node first takes every node above it on the path.
type relinker struct {
	ed   *edit
	to   map[unsafe.Pointer]unsafe.Pointer
	seen map[unsafe.Pointer]bool
}

func (r *relinker) value(v Value) Value {
	if v.ref == nil {
		return v
	}
	switch v.kind {
	case MapKind:
		v.ref = unsafe.Pointer(r.mnode(v.mroot()))
	case ListKind:
		v.ref = unsafe.Pointer(r.lnode(v.lroot()))
	}
	return v
}

func (r *relinker) mnode(n *mnode) *mnode {
	if c, ok := r.to[unsafe.Pointer(n)]; ok {
		n = (*mnode)(c)
	}
	if n.ed != r.ed || r.seen[unsafe.Pointer(n)] {
		return n
	}
	r.seen[unsafe.Pointer(n)] = true
	if n.leaf() {
		vs := n.vals()
		for i, v := range vs {
			if nv := r.value(v); nv.ref != v.ref {
				vs[i] = nv
			}
		}
		return n
	}
	ks := n.kids()
	for i, k := range ks {
		if c := r.mnode(k); c != k {
			ks[i] = c
		}
	}
	return n
}

func (r *relinker) lnode(n *lnode) *lnode {
	if c, ok := r.to[unsafe.Pointer(n)]; ok {
		n = (*lnode)(c)
	}
	if n.ed != r.ed || r.seen[unsafe.Pointer(n)] {
		return n
	}
	r.seen[unsafe.Pointer(n)] = true
	if n.leaf() {
		it := n.items()
		for i, v := range it {
			if nv := r.value(v); nv.ref != v.ref {
				it[i] = nv
			}
		}
		return n
	}
	for k := range int(n.n) {
		kd := n.kid(k)
		if c := r.lnode(kd.n); c != kd.n {
			n.setKid(r.ed, k, lkid{c, kd.size}) // copies a shared front first
		}
	}
	return n
}

// ProduceForwardOwned is ProduceForward under an owner: the same next
// state and patches, but nodes of base that o made in earlier operations
// of its epoch are changed in place instead of copied (see Owner). If the
// recipe fails, panics or changes nothing, base is exactly as it was and
// is returned. On success base must not be used again (next replaces it);
// next is not frozen (call o.Freeze before handing it out), but every
// value in the patches is. ErrOwnerBusy: o is already running an owned
// operation.
func ProduceForwardOwned(base Value, o *Owner, recipe func(d *Draft) error) (next Value, patches []Patch, err error) {
	next, patches, _, err = produceOwned(base, o, recipe, false)
	return next, patches, err
}

// ProduceOwned is ProduceForwardOwned with the inverse patches (frozen
// too), as Produce returns them.
func ProduceOwned(base Value, o *Owner, recipe func(d *Draft) error) (next Value, patches, inverse []Patch, err error) {
	return produceOwned(base, o, recipe, true)
}

// ProduceForwardOwnedAppend is ProduceForwardOwned that appends the
// patches to dst and returns the extended slice (dst itself when the
// recipe fails or changes nothing), as strconv's Append functions do. A
// caller that consumes the patches at once and passes the same buffer
// again (buf[:0]) so makes no allocation for them; the room past
// len(dst) may hold anything, every field is written. The patches' paths
// are valid until o's next ProduceForwardOwnedAppend, which carves its
// paths from the same room again (copy a path to keep it longer).
func ProduceForwardOwnedAppend(dst []Patch, base Value, o *Owner, recipe func(d *Draft) error) (next Value, patches []Patch, err error) {
	next, patches, _, err = produceOwnedInto(base, o, recipe, false, dst, true)
	if patches == nil {
		patches = dst
	}
	return next, patches, err
}

func produceOwned(base Value, o *Owner, recipe func(d *Draft) error, inverse bool) (Value, []Patch, []Patch, error) {
	return produceOwnedInto(base, o, recipe, inverse, nil, false)
}

// produceOwnedInto is produceOwned; with into, the forward patches are
// appended to dst (without inverse).
func produceOwnedInto(base Value, o *Owner, recipe func(d *Draft) error, inverse bool, dst []Patch, into bool) (Value, []Patch, []Patch, error) {
	if o.busy {
		return base, nil, nil, ErrOwnerBusy
	}
	d, e := o.newDraft(), o.newEdit()
	o.start(e)
	w := o.spare
	if w == nil || o.workOut {
		w = workPool.Get().(*work)
		w.owner, o.spare = o, w
	}
	o.workOut = true
	if into {
		// The previous into produce's patches are consumed: carve
		// their room again.
		w.into, w.dst, w.intoUsed = true, dst, 0
	}
	s := d.s
	openDraft(s, w, base, smallEpoch, e)
	s.done, s.owned, o.draft = false, true, d
	ended := false
	defer func() {
		if !ended { // a panic: base gets its nodes back
			s.done = true
			o.finish()
			o.end(false)
		}
	}()
	if err := recipe(d); err != nil {
		if !s.done {
			s.release()
		}
		ended = true
		o.end(false)
		return base, nil, nil, err
	}
	next, fwd, inv, err := s.finish(inverse)
	ended = true
	o.end(err == nil)
	if err != nil {
		return base, nil, nil, err
	}
	return next, fwd, inv, nil
}

// ApplyOwned is Apply under an owner: the same result, atomic and strict
// (or lenient) as Apply, but nodes of state that o made in earlier
// operations of its epoch are changed in place (see Owner). On error
// state is exactly as it was and is returned; on success state must not
// be used again. The patches' values must be frozen or made without o
// (never taken from o's unfrozen state). ErrOwnerBusy: o is already
// running an owned operation.
func ApplyOwned(state Value, o *Owner, patches []Patch, opts ...ApplyOption) (Value, error) {
	ed, err := o.begin()
	if err != nil {
		return state, err
	}
	a := applier{ed: ed, owner: o}
	a.configure(opts)
	ended := false
	defer func() {
		if !ended {
			o.end(false)
		}
	}()
	v, err := a.all(state, patches)
	ended = true
	o.end(err == nil)
	return v, err
}
