package crdt

import (
	"slices"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// visKind is what a register shows (or a container node is shown as) in the
// materialised state.
type visKind uint8

const (
	visNone   visKind = iota // absent
	visScalar                // a scalar (or a counter's sum)
	visMap                   // a map container
	visList                  // a list container
	visMulti                 // MultiValue siblings, shown as a list of values
)

// entry is one live write in a register: a scalar, or a container marker
// (an empty map or list value).
type entry struct {
	id  OpID
	ts  clock.Timestamp
	val draft.Value
}

// contrib is one replica's contribution to a counter: the sum of its
// increments up to op seq, minus what observed-removes took away (rem*).
type contrib struct {
	replica clock.ReplicaID
	seq     uint64
	ts      clock.Timestamp
	i       int64
	f       float64
	hasF    bool
	remSeq  uint64
	remI    int64
	remF    float64
}

func (c *contrib) live() bool { return c.seq > c.remSeq }

// counter holds per-replica contributions, sorted by replica: its size is
// the number of replicas that ever incremented it, never the history.
type counter struct {
	contribs []contrib
	// one is the contributions' first backing array (newCounter): most
	// counters get few contributors, and the first then costs no second
	// allocation, nor a second cache line to reach on a cold document
	// (growslice was a third of increment's 3.4 s in the 10,000-node
	// simulation).
	one [1]contrib
}

// newCounter returns an empty counter whose first contribution goes in its
// own room.
func newCounter() *counter {
	c := &counter{}
	c.contribs = c.one[:0]
	return c
}

// find returns the index of r's contribution, or where it would go.
func (c *counter) find(r clock.ReplicaID) (int, bool) {
	lo, hi := 0, len(c.contribs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.contribs[m].replica < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(c.contribs) && c.contribs[lo].replica == r
}

// value returns the counter's sum and the LWW key of its newest live
// contribution; ok is false when no contribution is live.
func (c *counter) value() (v draft.Value, ts clock.Timestamp, id OpID, ok bool) {
	var si int64
	var sf float64
	isF := false
	for k := range c.contribs {
		x := &c.contribs[k]
		si += x.i - x.remI
		sf += x.f - x.remF
		isF = isF || x.hasF
		if x.live() {
			if !ok || opLess(ts, id, x.ts, OpID{Replica: x.replica, Seq: x.seq}) {
				ts, id = x.ts, OpID{Replica: x.replica, Seq: x.seq}
			}
			ok = true
		}
	}
	if isF {
		return draft.Float(float64(si) + sf), ts, id, ok
	}
	return draft.Int(si), ts, id, ok
}

// sum is value without the LWW key: the sum, and whether any contribution
// is live.
func (c *counter) sum() (draft.Value, bool) {
	var si int64
	var sf float64
	isF, live := false, false
	for k := range c.contribs {
		x := &c.contribs[k]
		si += x.i - x.remI
		sf += x.f - x.remF
		isF = isF || x.hasF
		live = live || x.live()
	}
	if isF {
		return draft.Float(float64(si) + sf), live
	}
	return draft.Int(si), live
}

func (c *counter) liveCount() int {
	n := 0
	for k := range c.contribs {
		if c.contribs[k].live() {
			n++
		}
	}
	return n
}

// slot is a register: a map key or a list element of a container node.
type slot struct {
	owner   *node
	key     string
	elem    OpID // non-zero for list elements
	entries []entry
	first   [1]entry // entries' first backing array: most registers hold one
	child   *node    // the container living at this register, once written into
	ctr     *counter // counter contributions, if ever incremented
	strat   int32    // 0 unresolved, 1 default, k+2 rule k

	// what the materialised state shows for this register
	vis    visKind
	visVal draft.Value // for visScalar and visMulti

	// list elements: the winning position slot (the element's own insert
	// slot until a move wins; the winning move's timestamp is kept by the
	// list, see listState.posTS)
	pos OpID
}

func (s *slot) isElem() bool { return s.elem.Seq != 0 }

// addEntry appends e to the register's entries, using the slot's own room
// for the first.
func (s *slot) addEntry(e entry) {
	if s.entries == nil {
		s.entries = s.first[:0]
	}
	s.entries = append(s.entries, e)
}

// shrink moves the register's entries back into its own room once at most
// one is left, so that the array concurrent writes needed is freed: a
// register holds it only while the conflict lasts.
func (s *slot) shrink() {
	if cap(s.entries) <= 1 || len(s.entries) > 1 {
		return
	}
	s.first[0] = entry{}
	s.entries = s.first[:copy(s.first[:], s.entries)]
}

// holds reports whether the register holds an entry, a counter or a shown
// value. Only a register that holds none of them is ever dropped from its
// node's keys (dropEmptyRegisters), and nothing writes to a dropped one,
// so a register that holds one is still its node's register for its key:
// nodeAt's cache relies on this.
func (s *slot) holds() bool { return len(s.entries) > 0 || s.ctr != nil || s.vis != visNone }

// hotSlots caches a node's key registers by key hash, for remote ops: on
// a document cold in cache, looking a key up in the node's Go map is a few
// cache misses (the map's header, directory, table, control word and slot),
// where the cache's is one (its bucket) besides the register itself. It is
// a cache, not an index: a register may be missing from it, and the Go map
// stays the one authority. But every register it holds is its node's
// register for its key: registers leave a node's keys only in
// dropEmptyRegisters, which empties the node's cache when it drops one. So
// an emptied register (a delete's) is found, and written again, without
// a map lookup. Small nodes keep no cache.
//
// A bucket is one 64-byte line of four entries, each a register and its
// key's hash: find reads the line, and dereferences only a register whose
// hash matches (no miss on another key's register). The table has at
// least 2.5 entries per key, so a bucket rarely has more than four keys
// to hold, and when it grows the entries move to the new table by their
// hashes (no register is read). (The first cache, two-way buckets of bare
// pointers at two per key and emptied on growth, missed a third of the
// lookups of existing keys in BenchmarkColdRemoteApplySkip: each miss a
// Go map lookup on a cold node.)
type hotSlots struct {
	tab []hotEntry // len a power of two, a multiple of hotWays
}

// hotEntry is one cached register and its key's hash.
type hotEntry struct {
	s *slot
	h uint32
}

// hotWays is the number of entries in a bucket (16 bytes each: a line).
const hotWays = 4

// hotMin is the smallest node (in keys) that gets a cache: a Go map of up
// to 8 entries is one group, as cheap to probe as the cache.
const hotMin = 16

// keyHash is FNV-1a of the key (keys are short, and deterministic hashing
// keeps runs reproducible).
func keyHash(k string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(k); i++ {
		h ^= uint32(k[i])
		h *= 16777619
	}
	return h
}

// bucket returns the bucket for hash h.
func (c *hotSlots) bucket(h uint32) []hotEntry {
	i := int(h) & (len(c.tab) - hotWays)
	return c.tab[i : i+hotWays : i+hotWays]
}

// find returns the cached register for key k (hash h), or nil.
func (c *hotSlots) find(h uint32, k string) *slot {
	if len(c.tab) == 0 {
		return nil
	}
	for _, e := range c.bucket(h) {
		if e.h == h && e.s != nil && e.s.key == k {
			return e.s
		}
	}
	return nil
}

// remember caches s (key hash h) in a node of keys keys: first in its
// bucket, the others moving down one (the last falls out), unless it is
// there already.
func (c *hotSlots) remember(h uint32, s *slot, keys int) {
	if keys < hotMin {
		return
	}
	if want := hotSize(keys); want > len(c.tab) {
		c.grow(want)
	}
	b := c.bucket(h)
	at := hotWays - 1
	for j := range b {
		if b[j].s == s || b[j].s == nil {
			at = j
			break
		}
	}
	copy(b[1:at+1], b[:at])
	b[0] = hotEntry{s: s, h: h}
}

// hotSize is the table length for a node of keys keys: a power of two at
// least 2.5 entries a key.
func hotSize(keys int) int {
	n := 4 * hotWays
	for 2*n < 5*keys {
		n *= 2
	}
	return n
}

// grow moves the cache to a table of n entries, keeping what it holds.
func (c *hotSlots) grow(n int) {
	old := c.tab
	c.tab = make([]hotEntry, n)
	// Each old bucket's entries go in newest first (remember puts an
	// entry first), so they keep their order in the new bucket, and if
	// it is full the oldest stay out.
	for _, e := range old {
		if e.s != nil {
			c.put(e)
		}
	}
}

// forget empties the cache (its registers may have left the node).
func (c *hotSlots) forget() { clear(c.tab) }

// put enters e in its bucket's first free entry, if there is one.
func (c *hotSlots) put(e hotEntry) {
	b := c.bucket(e.h)
	for j := range b {
		if b[j].s == nil {
			b[j] = e
			return
		}
	}
}

// seg returns the slot's segment in its container.
func (s *slot) seg() Segment {
	if s.isElem() {
		return Segment{Elem: s.elem}
	}
	return Segment{Key: s.key}
}

// units is the number of live things in the register itself.
func (s *slot) units() int {
	n := len(s.entries)
	if s.ctr != nil {
		n += s.ctr.liveCount()
	}
	return n
}

// node is a container, identified by its path: the root map, or the
// container living at some register.
type node struct {
	parent *slot // nil for the root
	path   []Segment
	keys   map[string]*slot
	lst    *listState
	// live counts live entries and counter contributions in this node's
	// registers and below, through key registers (liveMap) and element
	// registers (liveList). A node with live content is visible even if its
	// marker was removed (an edit concurrent with a delete keeps its path).
	liveMap, liveList int
	// hot caches key registers for remote ops (see hotSlots).
	hot hotSlots
	// step is the key register nodeAt last walked through from this node
	// to a container below (one entry of cache: remote ops into the same
	// nested container skip a map lookup on a node cold in cache).
	step  *slot
	impl  uint8 // implFlags as last seen by the parent's resolution
	shown visKind
}

func (n *node) implFlags() uint8 {
	var f uint8
	if n.liveMap > 0 {
		f |= 1
	}
	if n.liveList > 0 {
		f |= 2
	}
	return f
}

func newNode(parent *slot) *node {
	n := &node{parent: parent, keys: make(map[string]*slot)}
	if parent != nil {
		p := parent.owner.path
		n.path = make([]Segment, len(p)+1)
		copy(n.path, p)
		n.path[len(p)] = parent.seg()
	}
	return n
}

// adjustLive adds d live units at register s and every container above it.
func adjustLive(s *slot, d int) {
	for s != nil {
		n := s.owner
		if s.isElem() {
			n.liveList += d
		} else {
			n.liveMap += d
		}
		s = n.parent
	}
}

// cand is one candidate for what a register shows: a scalar entry, the
// counter's sum, or a container (all markers of one kind merge into one,
// keyed by the newest; a container with live content but no marker is
// "implied" and has the zero key, so any explicit write beats it).
type cand struct {
	kind visKind
	val  draft.Value
	ts   clock.Timestamp
	id   OpID
}

func (c *cand) less(o *cand) bool { return opLess(c.ts, c.id, o.ts, o.id) }

// candidates appends the register's candidates to buf.
func (s *slot) candidates(buf []cand) []cand {
	mi, li := -1, -1
	for k := range s.entries {
		e := &s.entries[k]
		switch e.val.Kind() {
		case draft.MapKind:
			if mi < 0 {
				mi = len(buf)
				buf = append(buf, cand{kind: visMap, ts: e.ts, id: e.id})
			} else if opLess(buf[mi].ts, buf[mi].id, e.ts, e.id) {
				buf[mi].ts, buf[mi].id = e.ts, e.id
			}
		case draft.ListKind:
			if li < 0 {
				li = len(buf)
				buf = append(buf, cand{kind: visList, ts: e.ts, id: e.id})
			} else if opLess(buf[li].ts, buf[li].id, e.ts, e.id) {
				buf[li].ts, buf[li].id = e.ts, e.id
			}
		default:
			buf = append(buf, cand{kind: visScalar, val: e.val, ts: e.ts, id: e.id})
		}
	}
	if c := s.child; c != nil {
		if c.liveMap > 0 && mi < 0 {
			buf = append(buf, cand{kind: visMap})
		}
		if c.liveList > 0 && li < 0 {
			buf = append(buf, cand{kind: visList})
		}
	}
	if s.ctr != nil {
		if v, ts, id, ok := s.ctr.value(); ok {
			buf = append(buf, cand{kind: visScalar, val: v, ts: ts, id: id})
		}
	}
	return buf
}

// choose picks what a register shows from its candidates under strategy st.
// For visMulti the caller renders the sibling list.
func choose(st *Strategy, cs []cand) (visKind, int) {
	switch len(cs) {
	case 0:
		return visNone, -1
	case 1:
		return cs[0].kind, 0
	}
	best := 0
	for k := 1; k < len(cs); k++ {
		if cs[best].less(&cs[k]) {
			best = k
		}
	}
	switch st.Kind {
	case MultiValue:
		return visMulti, -1
	case Max, Min:
		num := -1
		var nv float64
		for k := range cs {
			f, ok := cs[k].val.AsFloat()
			if cs[k].kind != visScalar || !ok {
				continue
			}
			better := num < 0 || (st.Kind == Max && f > nv) || (st.Kind == Min && f < nv) ||
				(f == nv && cs[num].less(&cs[k]))
			if better {
				num, nv = k, f
			}
		}
		if num >= 0 {
			return visScalar, num
		}
	case Custom:
		for k := range cs {
			if cs[k].kind != visScalar {
				return cs[best].kind, best
			}
		}
		return visScalar, -2 // fold
	}
	return cs[best].kind, best
}

// foldCustom folds a custom merge over scalar candidates in LWW order.
func foldCustom(f MergeFunc, cs []cand) draft.Value {
	order := make([]int, len(cs))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int {
		if cs[a].less(&cs[b]) {
			return -1
		}
		return 1
	})
	acc := cs[order[0]].val
	for _, k := range order[1:] {
		acc = f(acc, cs[k].val)
	}
	return acc
}

// sortCands orders candidates by their LWW key, oldest first.
func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		if a.less(&b) {
			return -1
		}
		if b.less(&a) {
			return 1
		}
		return 0
	})
}
