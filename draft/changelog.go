package draft

import (
	"slices"
	"strconv"
	"unsafe"
)

// The change log of a draft.
//
// Every change appends an entry from which the forward patch and its
// inverse are built at Finish. The log is kept as a net diff while it
// grows, under one rule that keeps it correct: within an epoch (the
// stretch of log after the last list insert, remove or move, during which
// no index shifts), entries are keyed by their path and
//   - a write at a path that has a live add/replace entry at an ancestor
//     path is folded into that entry (its value is re-read from the tree
//     when the epoch ends), so creating an object and then filling it is
//     one add;
//   - a write at a path that already has a live entry is merged into it in
//     place (add+remove vanish, remove+add become replace, increments sum
//     their deltas, a value set back to the original vanishes).
//
// Moving a merged write back to its earlier position is sound because no
// index shifted since then and no live entry between touches an ancestor
// (that would have folded this write). List structure ops under a path
// that is itself a live add/replace are folded too; other structure ops
// end the epoch. A lookup that misses (say, after a hash collision) only
// makes the log less minimal, never wrong: entries are exact in order.

// entry flags
const (
	fDead    uint8 = 1 << iota
	fRefresh       // val must be re-read from the tree at path
	fIndexed       // hash is set (the entry is, or was, in idx)
	fStruct        // a list insert/remove/move
	fHadOld        // non-structural: something was at path before (old)
)

// entry is one change. Forward/inverse patches:
//
//	op add:      add path val        / remove path          (fHadOld unset)
//	op replace:  replace path val Δ  / replace path old -Δ
//	op remove:   remove path         / add path old
//	op move:     move from -> path   / move path -> from    (structural)
//
// A structural add is a list insert, a structural remove a list delete
// (old is the removed item).
//
// An entry is 80 bytes (W4 logs 100,000 of them): the path is kept as
// its first segment's address and its length (paths in the log are never
// appended to, so the capacity is not needed), which leaves room beside
// the length for the operation, the flags and the delta's kind; the delta
// (always a number) is its kind and bits; and a move, which has no old
// value, keeps its source path in old's place (see movedFrom).
type entry struct {
	pathAt  unsafe.Pointer // the path's first segment (see path)
	pathLen uint32
	op      opcode
	flags   uint8
	dkind   Kind // delta kind: Invalid, IntKind or FloatKind
	val     Value
	old     Value
	dnum    uint64 // delta bits (Value.num), kind in dkind
	hash    uint64
}

// newEntry returns an entry of op at p with the given values.
func newEntry(op opcode, p Path, val, old Value) entry {
	return entry{op: op, pathAt: unsafe.Pointer(unsafe.SliceData(p)), pathLen: uint32(len(p)), val: val, old: old}
}

// path returns the entry's path (nil if it was nil), with no spare
// capacity.
func (e *entry) path() Path {
	n := int(e.pathLen)
	return unsafe.Slice((*Segment)(e.pathAt), n)[:n:n]
}

// opcode is the operation of an entry.
type opcode uint8

const (
	opAdd opcode = iota
	opRemove
	opReplace
	opMove
)

var opNames = [...]Op{opAdd: OpAdd, opRemove: OpRemove, opReplace: OpReplace, opMove: OpMove}

func (e *entry) has(f uint8) bool { return e.flags&f != 0 }

func (e *entry) delta() Value { return Value{kind: e.dkind, num: e.dnum} }

func (e *entry) setDelta(d Value) { e.dkind, e.dnum = d.kind, d.num }

// foldable reports whether writes below e's path can be folded into e.
func (e *entry) foldable() bool {
	return (e.op == opAdd || e.op == opReplace) && e.dkind == Invalid && !e.has(fStruct)
}

// The log is stored in fixed-size chunks so that a long recipe never
// re-copies the whole log as it grows (W4 logs 100,000 writes).
const chunkSize = 128

// smallEpoch is the number of live entries up to which the epoch is
// searched by scanning instead of through idx.
const smallEpoch = 8

type changeLog struct {
	first     [1]entry // the first entry (saves an allocation for one-write recipes)
	head      []entry
	chunks    []*[chunkSize]entry
	n         int       // entries in the log
	epoch     int       // first entry of the current epoch
	epochLive int       // live entries in the current epoch
	idx       pathIndex // live non-structural entries of the epoch, by path
	scanLimit int32     // smallEpoch, or lower in tests to exercise idx
	collided  bool      // scan from now on (tests set it to exercise the switch)
	pendingAt []int     // entries that may have fRefresh set
	depths    uint64    // bit d set: an epoch entry has a path of length d (63: longer)
	removes   bool      // an entry of the epoch is, or was, a non-structural remove
	live      int       // live entries overall
	structs   int       // live structure entries overall
}

// reset empties the log for reuse by another draft. It keeps the inline
// entry and head's room (at most chunkSize entries, cleared so the log
// keeps nothing alive) and drops the chunks and the index, so a log that
// once grew long does not hold its memory.
//
// Pointer fields are written only when they hold something: while the
// collector marks, every pointer store costs a write barrier, and a
// one-write produce's log has one entry and nothing else (W3).
func (c *changeLog) reset() {
	if c.n > 0 {
		c.first[0] = entry{}
	}
	if len(c.head) > 0 {
		clear(c.head)
		c.head = c.head[:0]
	}
	if c.chunks != nil {
		c.chunks = nil
	}
	if c.idx.slots != nil {
		c.idx.slots = nil
	}
	if len(c.pendingAt) > 0 {
		c.pendingAt = c.pendingAt[:0]
	}
	c.n, c.epoch, c.epochLive, c.idx.used = 0, 0, 0, 0
	c.scanLimit, c.collided, c.depths, c.removes = 0, false, 0, false
	c.live, c.structs = 0, 0
}

// at returns entry j (0 <= j < n): the first entry inline, the next
// chunkSize in head (a slice grown by append, so short recipes allocate
// little), the rest in fixed chunks (so long ones never re-copy).
func (c *changeLog) at(j int) *entry {
	if j == 0 {
		return &c.first[0]
	}
	j--
	if j < chunkSize {
		return &c.head[j]
	}
	j -= chunkSize
	return &c.chunks[j/chunkSize][j%chunkSize]
}

// grow appends a zero entry and returns it.
func (c *changeLog) grow() *entry {
	switch j := c.n - 1; {
	case j < 0:
	case j < chunkSize:
		c.head = append(c.head, entry{})
	case (j-chunkSize)%chunkSize == 0:
		c.chunks = append(c.chunks, new([chunkSize]entry))
	}
	c.n++
	return c.at(c.n - 1)
}

// Path hashing (FNV-1a over the tokens, so Key("3") and Index(3) hash
// alike, as they resolve alike).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashSeg(h uint64, s Segment) uint64 {
	h = (h ^ '/') * fnvPrime
	var buf [20]byte
	var t []byte
	switch s.kind() {
	case segIndex:
		t = strconv.AppendInt(buf[:0], int64(s.index()), 10)
	case segEnd:
		t = append(buf[:0], '-')
	default:
		for i := 0; i < len(s.key); i++ {
			h = (h ^ uint64(s.key[i])) * fnvPrime
		}
		return h
	}
	for _, b := range t {
		h = (h ^ uint64(b)) * fnvPrime
	}
	return h
}

func hashPath(p Path) uint64 {
	h := uint64(fnvOffset)
	for _, s := range p {
		h = hashSeg(h, s)
	}
	return h
}

// useIdx reports whether lookups go through idx (building it if needed).
func (c *changeLog) useIdx() bool {
	if c.collided || (!c.idx.built() && c.epochLive <= int(c.scanLimit)) {
		return false
	}
	if !c.idx.built() {
		c.idx.rebuild(c, c.epochLive)
	}
	return true
}

// index puts entry j into idx.
func (c *changeLog) index(j int) {
	e := c.at(j)
	if !e.has(fIndexed) {
		e.hash = hashPath(e.path())
		e.flags |= fIndexed
	}
	c.idx.insert(c, j, e.hash)
}

// lookup returns the live entry at exactly p (whose hash is h), if indexed.
func (c *changeLog) lookup(h uint64, p Path) (int, bool) { return c.idx.lookup(c, h, p) }

// pathIndex is an open-addressing hash table (linear probing, at most
// three quarters full) from path hash to log entry. A Go map cost as much again in
// memory and rehashing for W4's 100,000 writes. Each slot holds the high
// half of the hash beside the entry number, so a probe reads the entry
// (a likely cache miss in a long log) only when the hashes agree. Killed
// entries keep their slot until the table grows (lookups skip them); the
// table is dropped when the epoch ends. Lookups compare whole paths, so
// hash collisions are harmless.
type pathIndex struct {
	slots []uint64 // hash>>32<<32 | entry index + 1; 0 is an empty slot
	used  int      // non-empty slots
}

func (x *pathIndex) built() bool { return x.slots != nil }

func (x *pathIndex) reset() { x.slots, x.used = nil, 0 }

// rebuild makes a table of at least 2*live slots (a power of two, at
// least 16) holding the live non-structural entries of the epoch.
func (x *pathIndex) rebuild(c *changeLog, live int) {
	n := 16
	for n < 2*live {
		n <<= 1
	}
	x.slots, x.used = make([]uint64, n), 0
	for j := c.epoch; j < c.n; j++ {
		if e := c.at(j); !e.has(fDead) && !e.has(fStruct) {
			if !e.has(fIndexed) {
				e.hash, e.flags = hashPath(e.path()), e.flags|fIndexed
			}
			x.put(j, e.hash)
		}
	}
}

func (x *pathIndex) lookup(c *changeLog, h uint64, p Path) (int, bool) {
	if x.slots == nil {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	tag := h >> 32 << 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff != tag {
			continue
		}
		j := int(uint32(s)) - 1
		if e := c.at(j); e.hash == h && !e.has(fDead) && e.path().Equal(p) {
			return j, true
		}
	}
}

// insert adds entry j (hash h), which is live and has no live entry at
// the same path in the table.
func (x *pathIndex) insert(c *changeLog, j int, h uint64) {
	if 4*(x.used+1) > 3*len(x.slots) {
		x.rebuild(c, c.epochLive) // drops killed entries; takes entry j
		return
	}
	x.put(j, h)
}

func (x *pathIndex) put(j int, h uint64) {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if x.slots[i] == 0 {
			x.slots[i] = h>>32<<32 | uint64(uint32(j+1))
			x.used++
			return
		}
	}
}

// find returns a fold target (the live add/replace entry at the shortest
// proper ancestor of p, or at p itself when self is set) and the live
// entry at exactly p, each -1 when there is none; and p's hash when it
// was computed.
func (c *changeLog) find(p Path, self bool) (fold, exact int, h uint64, hashed bool) {
	fold, exact = -1, -1
	if !c.useIdx() {
		for j := c.epoch; j < c.n; j++ {
			e := c.at(j)
			if e.has(fDead) || e.has(fStruct) {
				continue
			}
			q := e.path()
			if len(q) > len(p) || !p.HasPrefix(q) {
				continue
			}
			if len(q) == len(p) {
				exact = j
				if self && e.foldable() && fold < 0 {
					fold = j
				}
			} else if e.foldable() && (fold < 0 || len(c.at(fold).path()) > len(q)) {
				fold = j
			}
		}
		return fold, exact, 0, false
	}
	h = fnvOffset
	for i := 0; i <= len(p); i++ {
		if i > 0 {
			h = hashSeg(h, p[i-1])
		}
		if fold >= 0 || (i == len(p) && !self) || c.depths&(1<<min(i, 63)) == 0 {
			continue
		}
		if j, ok := c.lookup(h, p[:i]); ok && c.at(j).foldable() {
			fold = j
		}
	}
	if j, ok := c.lookup(h, p); ok {
		exact = j
	}
	return fold, exact, h, true
}

func (c *changeLog) kill(j int) {
	e := c.at(j)
	e.flags |= fDead
	c.live--
	if j >= c.epoch {
		c.epochLive--
	}
	if e.has(fStruct) {
		c.structs--
	}
}

// push appends e (h is its path hash when hashed is set).
func (c *changeLog) push(e entry, h uint64, hashed bool) {
	if hashed {
		e.hash, e.flags = h, e.flags|fIndexed
	}
	*c.grow() = e
	c.depths |= 1 << min(len(e.path()), 63)
	c.live++
	c.epochLive++
	if e.has(fStruct) {
		c.structs++
	} else if c.idx.built() {
		c.index(c.n - 1)
	}
}

// markRefresh flags entry j for re-reading its value.
func (c *changeLog) markRefresh(j int) {
	e := c.at(j)
	if !e.has(fRefresh) {
		e.flags |= fRefresh
		c.pendingAt = append(c.pendingAt, j)
	}
}

// write records a non-structural change at p: old/hadOld is what was there
// before, nv/hasNew what is there now; delta is set for increments.
func (c *changeLog) write(p Path, hadOld bool, old Value, hasNew bool, nv Value, delta Value) {
	var h uint64
	var hashed bool
	if c.epochLive > 0 && (hadOld || !c.fresh(p)) {
		var fold, exact int
		fold, exact, h, hashed = c.find(p, false)
		if fold >= 0 {
			c.markRefresh(fold)
			return
		}
		if exact >= 0 {
			c.merge(exact, hasNew, nv, delta)
			return
		}
	}
	e := newEntry(opAdd, p, nv, old)
	e.setDelta(delta)
	switch {
	case hadOld && hasNew:
		e.op, e.flags = opReplace, fHadOld
	case hasNew:
		e.op = opAdd
	default:
		e.op, e.flags = opRemove, fHadOld
		c.removes = true
	}
	c.push(e, h, hashed)
}

// fresh reports whether a write that creates p (nothing was there) can
// have neither a fold target nor a live entry at exactly p, so that write
// can skip the search (W4 sets 100,000 new keys in one draft). A fold
// target is at a proper ancestor of p, so no epoch entry with a shorter
// path rules it out. A live entry at exactly p while p is absent must be
// a remove: an add or replace there was followed by the removal of p,
// which either merged into it (a remove, or killed with an add) or went
// through an ancestor (a remove there, or a write there, which has a
// shorter path).
func (c *changeLog) fresh(p Path) bool {
	return !c.removes && len(p) < 63 && c.depths&(1<<len(p)-1) == 0
}

// merge folds a new write at the same path into entry j.
func (c *changeLog) merge(j int, hasNew bool, nv Value, delta Value) {
	e := c.at(j)
	e.flags &^= fRefresh
	switch {
	case !e.has(fHadOld) && !hasNew:
		c.kill(j)
	case !e.has(fHadOld):
		e.op, e.val = opAdd, nv
	case !hasNew:
		e.op, e.val = opRemove, Value{}
		e.setDelta(Value{})
		c.removes = true
	case nv.Equal(e.old):
		c.kill(j)
	default:
		d := Value{}
		if delta.IsValid() && e.op == opReplace && e.dkind != Invalid {
			d = addNumbers(e.delta(), delta)
		}
		e.op, e.val = opReplace, nv
		e.setDelta(d)
	}
}

// beforeStructural is called before a list insert/remove/move on the list
// at listPath changes the tree. It returns the entry to fold the change
// into (fold >= 0) or settles the epoch's pending values (with refresh,
// while paths still point where they did) and returns -1.
func (c *changeLog) beforeStructural(listPath Path, refresh func()) int {
	if c.epochLive == 0 {
		return -1
	}
	if fold, _, _, _ := c.find(listPath, true); fold >= 0 {
		return fold
	}
	refresh()
	return -1
}

// structural records list insert/remove/move entries after the change,
// given beforeStructural's result, and starts a new epoch unless folded.
func (c *changeLog) structural(fold int, es ...entry) {
	if fold >= 0 {
		c.markRefresh(fold)
		return
	}
	for _, e := range es {
		e.flags |= fStruct
		c.push(e, 0, false)
	}
	c.epoch = c.n
	c.epochLive = 0
	c.depths = 0
	c.removes = false
	c.idx.reset()
	c.collided = false
}

// moveEntry returns the structural entry of a move from fp (not empty) to
// tp. The source path is kept in old as its first segment's address and
// its length (kind Invalid, so it is never mistaken for a value; only
// movedFrom reads it).
func moveEntry(fp, tp Path) entry {
	return newEntry(opMove, tp, Value{}, Value{num: uint64(len(fp)), ref: unsafe.Pointer(&fp[0])})
}

// movedFrom returns the source path of a move entry.
func (e *entry) movedFrom() Path {
	n := int(e.old.num)
	return unsafe.Slice((*Segment)(e.old.ref), n)[:n:n]
}

// pending reports whether some entry's value must be re-read.
func (c *changeLog) pending() bool { return len(c.pendingAt) > 0 }

// settle re-reads pending values from root (which the caller has frozen).
func (c *changeLog) settle(root Value) {
	for _, j := range c.pendingAt {
		e := c.at(j)
		if !e.has(fRefresh) || e.has(fDead) {
			continue
		}
		e.flags &^= fRefresh
		v, ok := root.At(e.path())
		if !ok {
			// A later entry removed an ancestor; this entry's value no
			// longer matters to the outcome (see the type comment).
			continue
		}
		// Set back to the original: drop it, unless a later entry wrote
		// an ancestor, in which case v is that write's doing and this
		// entry's inverse is still needed to undo the earlier change.
		if e.op == opReplace && v.Equal(e.old) && !c.ancestorWrittenAfter(j) {
			c.kill(j)
			continue
		}
		e.val = v
	}
	c.pendingAt = c.pendingAt[:0]
}

// ancestorWrittenAfter reports whether a live entry after j in the epoch
// is at a proper ancestor of entry j's path.
func (c *changeLog) ancestorWrittenAfter(j int) bool {
	e := c.at(j)
	if c.idx.built() && !c.collided {
		h := uint64(fnvOffset)
		for i := range len(e.path()) {
			if k, ok := c.lookup(h, e.path()[:i]); ok && k > j {
				return true
			}
			h = hashSeg(h, e.path()[i])
		}
		return false
	}
	for k := j + 1; k < c.n; k++ {
		f := c.at(k)
		if !f.has(fDead) && !f.has(fStruct) && len(f.path()) < len(e.path()) && e.path().HasPrefix(f.path()) {
			return true
		}
	}
	return false
}

// disjointChanges reports whether the live entries surely leave the
// state different from the base, so Finish can skip comparing them: no
// move (moving an item between equal items changes nothing), and each
// entry's scope (its path; a list insert or remove: the list's path)
// neither holds nor lies in another's. Then every entry is a change no
// other undoes: a live add, remove or replace differs from what was there
// (no-op writes are not logged, writes set back are killed, and a later
// write below or above it would share its scope), and a list insert or
// remove is the only change to its list, whose length it changes. Logs of
// more than a few entries are not checked (the comparison is quadratic).
func (c *changeLog) disjointChanges() bool {
	const most = 8
	if c.live > most || c.n > 4*most {
		return false
	}
	var scopes [most]Path
	k := 0
	for j := range c.n {
		e := c.at(j)
		if e.has(fDead) {
			continue
		}
		if e.op == opMove {
			return false
		}
		p := e.path()
		if e.has(fStruct) {
			p = p[:len(p)-1]
		}
		for _, q := range scopes[:k] {
			if p.HasPrefix(q) || q.HasPrefix(p) {
				return false
			}
		}
		scopes[k], k = p, k+1
	}
	return true
}

// patches returns the live forward patches in order and, with inverse,
// the inverse patches in reverse order (nil without).
func (c *changeLog) patches(inverse bool, o *Owner) ([]Patch, []Patch) {
	n := c.live
	if inverse {
		n *= 2
	}
	buf := o.patchRoom(n)
	fwd, inv := buf[:c.live:c.live], buf[c.live:n:n]
	c.fill(fwd, inv, inverse, false)
	if !inverse {
		inv = nil
	}
	return fwd, inv
}

// appendPatches appends the live forward patches to dst, in order. The
// room past len(dst) may hold earlier patches (a caller's reused buffer),
// so every field is written.
func (c *changeLog) appendPatches(dst []Patch) []Patch {
	l := len(dst)
	dst = slices.Grow(dst, c.live)[:l+c.live]
	c.fill(dst[l:], nil, false, true)
	return dst
}

// fill writes the live forward patches into fwd and, with inverse, the
// inverse patches into inv in reverse order. Unless dirty, fwd and inv
// are fresh (zero) room and fields a patch leaves unset are not written.
func (c *changeLog) fill(fwd, inv []Patch, inverse, dirty bool) {
	var scratch Patch // the inverse patch when inverse is unset
	i := 0
	for j := range c.n {
		e := c.at(j)
		if e.has(fDead) {
			continue
		}
		f, r := &fwd[i], &scratch
		if inverse {
			r = &inv[c.live-1-i]
		}
		i++
		if dirty {
			clearPatch(f)
		}
		ep := e.path()
		f.Op, f.Path, r.Path = opNames[e.op], ep, ep
		switch e.op {
		case opAdd:
			f.Value, r.Op = e.val, OpRemove
		case opReplace:
			d := e.delta()
			f.Value, f.Delta = e.val, d
			r.Op, r.Value, r.Delta = OpReplace, e.old, negate(d)
		case opRemove:
			r.Op, r.Value = OpAdd, e.old
		case opMove:
			from := e.movedFrom()
			f.From = from
			r.Op, r.Path, r.From = OpMove, from, ep
		}
	}
}

// clearPatch zeroes the fields of p that fill may leave unset, storing
// only where they hold something (each pointer store costs a write
// barrier while the collector marks).
func clearPatch(p *Patch) {
	if p.From != nil {
		p.From = nil
	}
	if p.Value != (Value{}) {
		p.Value = Value{}
	}
	if p.Delta != (Value{}) {
		p.Delta = Value{}
	}
}

// holdsOwned reports whether a live entry's value (or, with inverse, its
// old value) is a container whose root ed may change in place: a patch
// would hand it out.
func (c *changeLog) holdsOwned(ed *edit, inverse bool) bool {
	for j := range c.n {
		e := c.at(j)
		if e.has(fDead) {
			continue
		}
		if ownedBy(e.val, ed) || (inverse && e.op != opMove && ownedBy(e.old, ed)) {
			return true
		}
	}
	return false
}

func negate(d Value) Value {
	switch d.kind {
	case IntKind:
		return Int(-int64(d.num))
	case FloatKind:
		f, _ := d.AsFloat()
		return Float(-f)
	}
	return Value{}
}

// addNumbers adds two Int/Float values: Int+Int stays Int (wrapping on
// overflow like Go), anything else is Float.
func addNumbers(a, b Value) Value {
	if a.kind == IntKind && b.kind == IntKind {
		return Int(int64(a.num) + int64(b.num))
	}
	x, _ := a.AsFloat()
	y, _ := b.AsFloat()
	return Float(x + y)
}
