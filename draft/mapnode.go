package draft

// edit is an ownership token. A tree node whose ed equals the token of the
// running edit (a live draft or an Apply call) was created by that edit and
// is not reachable from any published Value, so the edit may change it in
// place. A nil token means "persistent": every change copies. Tokens are
// never reused, so nodes of finished edits are frozen for good.
type edit struct{ _ int }

// mnode is a node of the persistent B+tree that holds a map's entries in
// sorted key order. Leaves have ents; inner nodes have kids, where
// kids[i].key is the smallest key under kids[i] (kids[0].key may be stale
// low after a delete; only kids[1:] keys steer searches). Keys and values
// sit side by side so a copy is one allocation.
type mnode struct {
	ed   *edit
	ents []mentry // leaf only
	kids []mkid   // inner only
}

type mentry struct {
	key string
	val Value
}

type mkid struct {
	key string
	n   *mnode
}

// Every write copies one node per level, so the bytes copied per write are
// about mapLeafMax*40 + (depth-1)*mapBranchMax*24 (an entry is a key and a
// whole Value, a kid a key and a pointer). Leaves of 8 and inner nodes of
// 16: against leaves of 16, a one-key write to a 1,000-key map copies 220
// fewer bytes (W1 1,805 -> 1,584 B/op, W2 3,161 -> 2,939) and a leaf fits
// a size class without a malloc header (376 bytes). Leaves of 8 used to
// cost W4 10 to 20% (twice the splits while it inserted 100,000 keys one
// by one); since a fill of an empty map is built in one sorted pass (a
// run of buffered adds, see session.addToRun) W4 splits no leaves.
const (
	mapLeafMax   = 8
	mapBranchMax = 16
)

func (n *mnode) leaf() bool { return n.kids == nil }

func (n *mnode) minKey() string {
	if n.leaf() {
		return n.ents[0].key
	}
	return n.kids[0].key
}

func (n *mnode) size() int {
	if n.leaf() {
		return len(n.ents)
	}
	return len(n.kids)
}

// own returns n itself when ed owns it, or a copy owned by ed with room
// for extra more entries. A copy made for a replace (extra 0) is sized
// exactly, so a one-key write copies no spare capacity; a copy made for an
// insert gets a full node's room, so later inserts by the same edit go in
// place.
func (n *mnode) own(ed *edit, extra int) *mnode {
	if ed != nil && n.ed == ed {
		return n
	}
	if n.leaf() {
		need := len(n.ents)
		if extra > 0 {
			need = max(need+extra, mapLeafMax+1)
		}
		return newMapLeaf(ed, n.ents, need)
	}
	need := len(n.kids)
	if extra > 0 {
		need = max(need+extra, mapBranchMax+1)
	}
	return newMapInner(ed, n.kids, need)
}

// Nodes are allocated together with their entry array (one allocation per
// copied node), in size classes chosen to fill Go's allocation size
// classes (a 56-byte header plus 40-byte entries or 24-byte kids).
type (
	mleaf1 struct {
		n mnode
		b [1]mentry
	}
	mleaf2 struct {
		n mnode
		b [2]mentry
	}
	mleaf3 struct {
		n mnode
		b [3]mentry
	}
	mleaf4 struct {
		n mnode
		b [4]mentry
	}
	mleaf5 struct {
		n mnode
		b [5]mentry
	}
	mleaf6 struct {
		n mnode
		b [6]mentry
	}
	mleafMax struct { // a full leaf copied for a replace
		n mnode
		b [mapLeafMax]mentry
	}
	mleafFull struct { // room for the insert that splits it
		n mnode
		b [mapLeafMax + 1]mentry
	}
	minner4 struct {
		n mnode
		b [4]mkid
	}
	minner8 struct {
		n mnode
		b [8]mkid
	}
	minner16 struct {
		n mnode
		b [16]mkid
	}
	minnerFull struct {
		n mnode
		b [mapBranchMax + 1]mkid
	}
)

// newMapLeaf returns a leaf owned by ed holding a copy of ents, with
// capacity for at least need entries. Leaves of 1, 3 and 5 entries fill
// their size class exactly (96, 176, 256 bytes), so small objects (a
// user record of three fields) are copied without slack.
func newMapLeaf(ed *edit, ents []mentry, need int) *mnode {
	var n *mnode
	var b []mentry
	switch {
	case need <= 1:
		x := &mleaf1{}
		n, b = &x.n, x.b[:0]
	case need <= 2:
		x := &mleaf2{}
		n, b = &x.n, x.b[:0]
	case need <= 3:
		x := &mleaf3{}
		n, b = &x.n, x.b[:0]
	case need <= 4:
		x := &mleaf4{}
		n, b = &x.n, x.b[:0]
	case need <= 5:
		x := &mleaf5{}
		n, b = &x.n, x.b[:0]
	case need <= 6:
		x := &mleaf6{}
		n, b = &x.n, x.b[:0]
	case need <= mapLeafMax:
		x := &mleafMax{}
		n, b = &x.n, x.b[:0]
	case need <= mapLeafMax+1:
		x := &mleafFull{}
		n, b = &x.n, x.b[:0]
	default:
		n, b = &mnode{}, make([]mentry, 0, need)
	}
	n.ed, n.ents = ed, append(b, ents...)
	return n
}

// newMapInner is newMapLeaf for inner nodes.
func newMapInner(ed *edit, kids []mkid, need int) *mnode {
	var n *mnode
	var b []mkid
	switch {
	case need <= 4:
		x := &minner4{}
		n, b = &x.n, x.b[:0]
	case need <= 8:
		x := &minner8{}
		n, b = &x.n, x.b[:0]
	case need <= 16:
		x := &minner16{}
		n, b = &x.n, x.b[:0]
	case need <= mapBranchMax+1:
		x := &minnerFull{}
		n, b = &x.n, x.b[:0]
	default:
		n, b = &mnode{}, make([]mkid, 0, need)
	}
	n.ed, n.kids = ed, append(b, kids...)
	return n
}

// childFor returns the index of the child whose key range holds key.
func (n *mnode) childFor(key string) int {
	lo, hi := 1, len(n.kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.kids[m].key <= key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (n *mnode) search(key string) (int, bool) {
	lo, hi := 0, len(n.ents)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.ents[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.ents) && n.ents[lo].key == key
}

func mapGet(n *mnode, key string) (Value, bool) {
	for n != nil {
		if n.leaf() {
			i, ok := n.search(key)
			if !ok {
				return Value{}, false
			}
			return n.ents[i].val, true
		}
		n = n.kids[n.childFor(key)].n
	}
	return Value{}, false
}

// mapSet sets key to v in the tree rooted at root and returns the new root
// and whether the key is new.
func mapSet(ed *edit, root *mnode, key string, v Value) (*mnode, bool) {
	n, _, added := mapUpsert(ed, root, key, v, false)
	return n, added
}

// mapUpsert sets key to v in one descent and returns the new root, the old
// value (Invalid if the key is new) and whether the key is new. With
// skipEqual, a key that already holds a value Equal to v is left alone and
// root itself is returned (nothing is copied).
func mapUpsert(ed *edit, root *mnode, key string, v Value, skipEqual bool) (*mnode, Value, bool) {
	if root == nil {
		return newMapLeaf(ed, []mentry{{key, v}}, 1), Value{}, true
	}
	n, split, old, added := mapSetNode(ed, root, key, v, skipEqual)
	if split != nil {
		n = newMapInner(ed, []mkid{{n.minKey(), n}, {split.minKey(), split}}, 2)
	}
	return n, old, added
}

func mapSetNode(ed *edit, n *mnode, key string, v Value, skipEqual bool) (*mnode, *mnode, Value, bool) {
	if n.leaf() {
		i, ok := n.search(key)
		if ok {
			old := n.ents[i].val
			if skipEqual && old.Equal(v) {
				return n, nil, old, false
			}
			n = n.own(ed, 0)
			n.ents[i].val = v
			return n, nil, old, false
		}
		n = n.own(ed, 1)
		n.ents = insertAt(n.ents, i, mentry{key, v})
		if len(n.ents) <= mapLeafMax {
			return n, nil, Value{}, true
		}
		h := len(n.ents) / 2
		r := newMapLeaf(ed, n.ents[h:], mapLeafMax+1)
		clear(n.ents[h:])
		n.ents = n.ents[:h]
		return n, r, Value{}, true
	}
	i := n.childFor(key)
	c, split, old, added := mapSetNode(ed, n.kids[i].n, key, v, skipEqual)
	if c == n.kids[i].n && split == nil && key >= n.kids[i].key {
		return n, nil, old, added // unchanged, or changed in place
	}
	extra := 0
	if split != nil {
		extra = 1
	}
	n = n.own(ed, extra)
	n.kids[i].n = c
	if key < n.kids[i].key {
		n.kids[i].key = key
	}
	if split == nil {
		return n, nil, old, added
	}
	n.kids = insertAt(n.kids, i+1, mkid{split.minKey(), split})
	if len(n.kids) <= mapBranchMax {
		return n, nil, old, added
	}
	h := len(n.kids) / 2
	r := newMapInner(ed, n.kids[h:], mapBranchMax+1)
	clear(n.kids[h:])
	n.kids = n.kids[:h]
	return n, r, old, added
}

// mapUpdate replaces the value under key, which must be present
// (ErrNotFound otherwise), with fn's result, in one descent: nodes on the
// path are copied (or, if ed owns them, changed in place) only once fn has
// succeeded and returned something other than the value itself. It
// returns root itself when nothing changed or on error.
func mapUpdate(ed *edit, n *mnode, key string, fn func(Value) (Value, error)) (*mnode, error) {
	if n == nil {
		return nil, ErrNotFound
	}
	if n.leaf() {
		i, ok := n.search(key)
		if !ok {
			return n, ErrNotFound
		}
		nv, err := fn(n.ents[i].val)
		if err != nil || nv.identical(n.ents[i].val) {
			return n, err
		}
		n = n.own(ed, 0)
		n.ents[i].val = nv
		return n, nil
	}
	i := n.childFor(key)
	c, err := mapUpdate(ed, n.kids[i].n, key, fn)
	if err != nil || c == n.kids[i].n {
		return n, err
	}
	n = n.own(ed, 0)
	n.kids[i].n = c
	return n, nil
}

// mapDelete removes key and returns the new root, the old value and whether
// the key was present. Nodes that become empty are dropped; an inner root
// with one child collapses. Under-full nodes are not merged: the height
// stays bounded by the largest size the map ever had.
func mapDelete(ed *edit, root *mnode, key string) (*mnode, Value, bool) {
	if root == nil {
		return nil, Value{}, false
	}
	if _, ok := mapGet(root, key); !ok {
		return root, Value{}, false
	}
	n, old := mapDeleteNode(ed, root, key)
	for n != nil && !n.leaf() && len(n.kids) == 1 {
		n = n.kids[0].n
	}
	if n != nil && n.size() == 0 {
		n = nil
	}
	return n, old, true
}

// mapDeleteNode removes a key known to be present.
func mapDeleteNode(ed *edit, n *mnode, key string) (*mnode, Value) {
	n = n.own(ed, 0)
	if n.leaf() {
		i, _ := n.search(key)
		old := n.ents[i].val
		n.ents = removeAt(n.ents, i)
		return n, old
	}
	i := n.childFor(key)
	c, old := mapDeleteNode(ed, n.kids[i].n, key)
	if c.size() == 0 {
		n.kids = removeAt(n.kids, i)
		return n, old
	}
	n.kids[i] = mkid{c.minKey(), c}
	return n, old
}

// mapBuild builds a tree from entries already sorted by key with no
// duplicates, bottom-up, in O(n).
func mapBuild(ed *edit, keys []string, vals []Value) *mnode {
	ents := make([]mentry, len(keys))
	for i := range keys {
		ents[i] = mentry{keys[i], vals[i]}
	}
	return mapBuildEntries(ed, ents)
}

// mapBuildEntries builds a tree owned by ed from entries sorted by key
// with no duplicates, bottom-up, in O(n): full leaves and inner nodes
// (the last of each level may be short), one allocation per node. ents
// is copied, not kept.
func mapBuildEntries(ed *edit, ents []mentry) *mnode {
	if len(ents) == 0 {
		return nil
	}
	level := make([]*mnode, 0, (len(ents)+mapLeafMax-1)/mapLeafMax)
	for i := 0; i < len(ents); i += mapLeafMax {
		j := min(i+mapLeafMax, len(ents))
		level = append(level, newMapLeaf(ed, ents[i:j], j-i))
	}
	return mapBuildUp(ed, level)
}

// mapBuildUp builds the inner levels over leaves (in key order, at least
// one) and returns the root. It reuses level's room.
func mapBuildUp(ed *edit, level []*mnode) *mnode {
	kids := make([]mkid, 0, mapBranchMax)
	for len(level) > 1 {
		up := level[:0] // each node is read before its slot is reused
		for i := 0; i < len(level); i += mapBranchMax {
			kids = kids[:0]
			for _, k := range level[i:min(i+mapBranchMax, len(level))] {
				kids = append(kids, mkid{k.minKey(), k})
			}
			up = append(up, newMapInner(ed, kids, len(kids)))
		}
		level = up
	}
	return level[0]
}

// mapEach calls yield for each entry in key order until it returns false.
func mapEach(n *mnode, yield func(string, Value) bool) bool {
	if n == nil {
		return true
	}
	if n.leaf() {
		for i := range n.ents {
			if !yield(n.ents[i].key, n.ents[i].val) {
				return false
			}
		}
		return true
	}
	for _, c := range n.kids {
		if !mapEach(c.n, yield) {
			return false
		}
	}
	return true
}

// aligned reports whether two inner nodes split the key space the same
// way, so their children can be compared pairwise.
func aligned(a, b *mnode) bool {
	if a.leaf() || b.leaf() || len(a.kids) != len(b.kids) {
		return false
	}
	for i := 1; i < len(a.kids); i++ {
		if a.kids[i].key != b.kids[i].key {
			return false
		}
	}
	return true
}

// mapNodeEqual compares two subtrees, skipping shared nodes, and comparing
// aligned inner nodes child by child so that two versions of a big map that
// differ in a few keys compare in time proportional to the difference.
func mapNodeEqual(a, b *mnode) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if aligned(a, b) {
		for i := range a.kids {
			if !mapNodeEqual(a.kids[i].n, b.kids[i].n) {
				return false
			}
		}
		return true
	}
	if a.leaf() && b.leaf() {
		if len(a.ents) != len(b.ents) {
			return false
		}
		for i := range a.ents {
			if a.ents[i].key != b.ents[i].key || !a.ents[i].val.Equal(b.ents[i].val) {
				return false
			}
		}
		return true
	}
	return mapFlatEqual(a, b)
}

func mapFlatEqual(a, b *mnode) bool {
	var ks []string
	var vs []Value
	mapEach(a, func(k string, v Value) bool { ks, vs = append(ks, k), append(vs, v); return true })
	i := 0
	ok := mapEach(b, func(k string, v Value) bool {
		if i >= len(ks) || ks[i] != k || !vs[i].Equal(v) {
			return false
		}
		i++
		return true
	})
	return ok && i == len(ks)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
