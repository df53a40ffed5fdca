package draft

// The change log of a draft.
//
// Every change appends a forward patch and its inverse. The log is kept as
// a net diff while it grows, under one rule that keeps it correct: within
// an epoch (the stretch of log after the last list insert, remove or move,
// during which no index shifts), entries are keyed by their path string
// and
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
// end the epoch.

type entry struct {
	fwd, inv Patch
	key      string // fwd.Path.String(), set once the entry is indexed
	dead     bool
	refresh  bool // fwd.Value must be re-read from the tree at fwd.Path
	indexed  bool
	struct_  bool // a list insert/remove/move
}

// The log is stored in fixed-size chunks so that a long recipe never
// re-copies the whole log as it grows (W4 logs 100,000 writes).
const chunkSize = 128

type changeLog struct {
	first     [1]entry // the first entry (saves an allocation for one-write recipes)
	chunks    []*[chunkSize]entry
	n         int            // entries in the log
	scanLimit int            // smallEpoch, or lower in tests to exercise idx
	epoch     int            // first entry of the current epoch
	epochLive int            // live entries in the current epoch
	idx       map[string]int // key -> entry, for live entries of the epoch
	live      int            // live entries overall
	structs   int            // live structure entries overall
}

// indexEpoch makes sure every live entry of the epoch is in idx.
func (c *changeLog) indexEpoch() {
	if c.idx != nil {
		return // push indexes entries added after the first build
	}
	c.idx = make(map[string]int)
	for j := c.epoch; j < c.n; j++ {
		e := c.at(j)
		if e.dead || e.indexed || e.struct_ {
			continue
		}
		e.key = e.fwd.Path.String()
		e.indexed = true
		c.idx[e.key] = j
	}
}

// smallEpoch is the number of live entries up to which the epoch is
// searched by scanning instead of through idx (no strings, no map).
const smallEpoch = 8

// scan finds, among the epoch's live non-structural entries, a fold target
// (a live add/replace at a proper ancestor of p, or at p itself when self
// is set) and an entry at exactly p.
func (c *changeLog) scan(p Path, self bool) (fold, exact int) {
	fold, exact = -1, -1
	for j := c.epoch; j < c.n; j++ {
		e := c.at(j)
		if e.dead || e.struct_ {
			continue
		}
		q := e.fwd.Path
		if len(q) > len(p) || !p.HasPrefix(q) {
			continue
		}
		foldable := (e.fwd.Op == OpAdd || e.fwd.Op == OpReplace) && !e.fwd.Delta.IsValid()
		if len(q) == len(p) {
			exact = j
			if self && foldable && fold < 0 {
				fold = j
			}
		} else if foldable && (fold < 0 || len(c.at(fold).fwd.Path) > len(q)) {
			fold = j
		}
	}
	return fold, exact
}

// find is scan or the idx lookup, whichever fits the epoch's size; key is
// p.String() when the lookup computed it.
func (c *changeLog) find(p Path, self bool) (fold, exact int, key string) {
	if c.idx == nil && c.epochLive <= c.scanLimit {
		fold, exact = c.scan(p, self)
		return fold, exact, ""
	}
	c.indexEpoch()
	key = p.String()
	fold, exact = -1, -1
	if j, ok := c.foldTarget(key, self); ok {
		fold = j
	}
	if j, ok := c.idx[key]; ok {
		exact = j
	}
	return fold, exact, key
}

// foldTarget returns the live add/replace entry at a proper ancestor of the
// path whose string is key (or at key itself when self is set).
func (c *changeLog) foldTarget(key string, self bool) (int, bool) {
	try := func(k string) (int, bool) {
		j, ok := c.idx[k]
		if !ok {
			return 0, false
		}
		e := c.at(j)
		if (e.fwd.Op == OpAdd || e.fwd.Op == OpReplace) && !e.fwd.Delta.IsValid() {
			return j, true
		}
		return 0, false
	}
	if j, ok := try(""); ok && key != "" {
		return j, true
	}
	for i := 1; i < len(key); i++ {
		if key[i] == '/' {
			if j, ok := try(key[:i]); ok {
				return j, true
			}
		}
	}
	if self {
		return try(key)
	}
	return 0, false
}

func (c *changeLog) kill(j int) {
	e := c.at(j)
	e.dead = true
	c.live--
	if j >= c.epoch {
		c.epochLive--
	}
	if e.struct_ {
		c.structs--
	}
	if e.indexed && c.idx != nil && c.idx[e.key] == j {
		delete(c.idx, e.key)
	}
}

// at returns entry j (0 <= j < n).
func (c *changeLog) at(j int) *entry {
	if j == 0 {
		return &c.first[0]
	}
	j--
	return &c.chunks[j/chunkSize][j%chunkSize]
}

// grow appends a zero entry and returns it.
func (c *changeLog) grow() *entry {
	if c.n > 0 && (c.n-1)%chunkSize == 0 {
		c.chunks = append(c.chunks, new([chunkSize]entry))
	}
	c.n++
	return c.at(c.n - 1)
}

// push appends e; key is its path string if the caller has it.
func (c *changeLog) push(e entry, key string) {
	*c.grow() = e
	c.live++
	c.epochLive++
	if e.struct_ {
		c.structs++
	}
	if c.idx != nil && !e.struct_ {
		if key == "" {
			key = e.fwd.Path.String()
		}
		j := c.n - 1
		c.at(j).key, c.at(j).indexed = key, true
		c.idx[key] = j
	}
}

// write records a non-structural change at p: old/hadOld is what was there
// before, nv/hasNew what is there now; delta is set for increments.
func (c *changeLog) write(p Path, hadOld bool, old Value, hasNew bool, nv Value, delta Value) {
	var key string
	if c.epochLive > 0 {
		var fold, exact int
		fold, exact, key = c.find(p, false)
		if fold >= 0 {
			c.at(fold).refresh = true
			return
		}
		if exact >= 0 {
			c.merge(exact, hasNew, nv, delta)
			return
		}
	}
	var e entry
	switch {
	case hadOld && hasNew:
		e.fwd = Patch{Op: OpReplace, Path: p, Value: nv, Delta: delta}
		e.inv = Patch{Op: OpReplace, Path: p, Value: old, Delta: negate(delta)}
	case hasNew:
		e.fwd = Patch{Op: OpAdd, Path: p, Value: nv}
		e.inv = Patch{Op: OpRemove, Path: p}
	default:
		e.fwd = Patch{Op: OpRemove, Path: p}
		e.inv = Patch{Op: OpAdd, Path: p, Value: old}
	}
	c.push(e, key)
}

// merge folds a new write at the same path into entry j.
func (c *changeLog) merge(j int, hasNew bool, nv Value, delta Value) {
	e := c.at(j)
	origExisted := e.inv.Op != OpRemove
	orig := e.inv.Value
	e.refresh = false
	switch {
	case !origExisted && !hasNew:
		c.kill(j)
	case !origExisted:
		e.fwd = Patch{Op: OpAdd, Path: e.fwd.Path, Value: nv}
	case !hasNew:
		e.fwd = Patch{Op: OpRemove, Path: e.fwd.Path}
		e.inv = Patch{Op: OpAdd, Path: e.fwd.Path, Value: orig}
	case nv.Equal(orig):
		c.kill(j)
	default:
		d := Value{}
		if delta.IsValid() && e.fwd.Op == OpReplace && e.fwd.Delta.IsValid() {
			d = addNumbers(e.fwd.Delta, delta)
		}
		e.fwd = Patch{Op: OpReplace, Path: e.fwd.Path, Value: nv, Delta: d}
		e.inv = Patch{Op: OpReplace, Path: e.fwd.Path, Value: orig, Delta: negate(d)}
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
	if fold, _, _ := c.find(listPath, true); fold >= 0 {
		return fold
	}
	refresh()
	return -1
}

// structural records list insert/remove/move patches after the change,
// given beforeStructural's result, and starts a new epoch unless folded.
func (c *changeLog) structural(fold int, fwd, inv []Patch) {
	if fold >= 0 {
		c.at(fold).refresh = true
		return
	}
	for i := range fwd {
		c.push(entry{fwd: fwd[i], inv: inv[i], struct_: true}, "")
	}
	c.epoch = c.n
	c.epochLive = 0
	c.idx = nil
}

// pending reports whether the epoch has entries whose value must be
// re-read.
func (c *changeLog) pending() bool {
	for j := c.epoch; j < c.n; j++ {
		if c.at(j).refresh && !c.at(j).dead {
			return true
		}
	}
	return false
}

// settle re-reads pending values from root (which the caller has frozen).
func (c *changeLog) settle(root Value) {
	for j := c.epoch; j < c.n; j++ {
		e := c.at(j)
		if !e.refresh || e.dead {
			continue
		}
		e.refresh = false
		v, ok := root.At(e.fwd.Path)
		if !ok {
			// A later entry removed an ancestor; this entry's value no
			// longer matters to the outcome (see the type comment).
			continue
		}
		// Set back to the original: drop it, unless a later entry wrote
		// an ancestor, in which case v is that write's doing and this
		// entry's inverse is still needed to undo the earlier change.
		if e.fwd.Op == OpReplace && v.Equal(e.inv.Value) && !c.ancestorWrittenAfter(j) {
			c.kill(j)
			continue
		}
		e.fwd.Value = v
	}
}

// ancestorWrittenAfter reports whether a live entry after j in the epoch
// is at a proper ancestor of entry j's path.
func (c *changeLog) ancestorWrittenAfter(j int) bool {
	e := c.at(j)
	if c.idx != nil && e.indexed {
		for i := 0; i < len(e.key); i++ {
			if i > 0 && e.key[i] != '/' {
				continue
			}
			if k, ok := c.idx[e.key[:i]]; ok && k > j {
				return true
			}
		}
		return false
	}
	for k := j + 1; k < c.n; k++ {
		f := c.at(k)
		if !f.dead && !f.struct_ && len(f.fwd.Path) < len(e.fwd.Path) && e.fwd.Path.HasPrefix(f.fwd.Path) {
			return true
		}
	}
	return false
}

// patches returns the live forward patches in order and the inverse
// patches in reverse order.
func (c *changeLog) patches() ([]Patch, []Patch) {
	buf := make([]Patch, 2*c.live)
	fwd, inv := buf[:0:c.live], buf[c.live:]
	k := c.live
	for i := range c.n {
		e := c.at(i)
		if e.dead {
			continue
		}
		fwd = append(fwd, e.fwd)
		k--
		inv[k] = e.inv
	}
	return fwd, inv
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
