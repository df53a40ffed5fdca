package draft

import "unsafe"

// mnode is a node of the persistent B+tree that holds a map's entries in
// sorted key order. A leaf holds values (vals), an inner node children
// (kids). keys[i] is the key of vals[i] in a leaf, and the smallest key
// under kids[i] in an inner node (keys[0] may be stale low after a
// delete; only keys[1:] steer searches).
//
// Keys sit in their own array so that a write that changes no key (a
// replace, or a new child on the path of one) copies only the node's
// values or child pointers and shares the keys array with the node it
// copies: a one-key write to a 1,000-key map copies 8- and 16-wide inner
// nodes of pointers (128 and 192 bytes) and a leaf of values (256 bytes)
// instead of kids with keys (256, 448) and a leaf of key-value pairs
// (384). A keys array is written in place only by the edit that made it
// (ked); a shared one never is. The values or children are one array,
// usually allocated with the node, of which the node keeps the address
// and the room (the length is len(keys)), so the header is 56 bytes.
type mnode struct {
	ed    *edit          // the edit that may change values and children in place
	ked   *edit          // the edit that may change keys in place (nil: shared)
	keys  []string       // see above
	arr   unsafe.Pointer // the first value (leaf) or child (inner)
	room  uint32         // arr's capacity
	inner bool
	part  bool // adopted with only some slots saved (see mineAt)
}

// Every write copies one node per level, so the bytes copied per write are
// about mapLeafMax*24 + (depth-1)*mapBranchMax*8 plus a 56-byte header
// per node (a value is 24 bytes, a child pointer 8; keys are shared). A
// write that adds or removes a key copies the keys arrays on its path too.
// Leaves of 8 and inner nodes of 16 keep the copied path short; W4, which
// fills an empty map, builds its leaves in one sorted pass (a run of
// buffered adds, see session.addToRun) and splits none.
const (
	mapLeafMax   = 8
	mapBranchMax = 16
)

func (n *mnode) leaf() bool { return !n.inner }

func (n *mnode) minKey() string { return n.keys[0] }

func (n *mnode) size() int { return len(n.keys) }

// vals returns a leaf's values (len(keys) of them, with the array's room
// as capacity).
func (n *mnode) vals() []Value {
	return unsafe.Slice((*Value)(n.arr), n.room)[:len(n.keys)]
}

// kids returns an inner node's children, as vals does.
func (n *mnode) kids() []*mnode {
	return unsafe.Slice((**mnode)(n.arr), n.room)[:len(n.keys)]
}

// setVals makes vs (whose length must become len(keys)) the leaf's array.
func (n *mnode) setVals(vs []Value) {
	n.arr, n.room = unsafe.Pointer(unsafe.SliceData(vs)), uint32(cap(vs))
}

func (n *mnode) setKids(ks []*mnode) {
	n.arr, n.room = unsafe.Pointer(unsafe.SliceData(ks)), uint32(cap(ks))
}

// own returns n itself when ed owns (or adopts) it, or a copy owned by ed,
// for a change of value or child i only: the copy shares n's keys (so it
// may not change them) and is sized exactly.
func (n *mnode) own(ed *edit, i int) *mnode {
	if n.mineAt(ed, i) {
		return n
	}
	var c *mnode
	if n.leaf() {
		c = allocLeaf(len(n.keys))
		c.keys = n.keys
		copy(c.vals(), n.vals())
	} else {
		c = allocInner(len(n.keys))
		c.keys = n.keys
		copy(c.kids(), n.kids())
	}
	c.ed = ed
	return c
}

// ownKeys returns n itself when ed owns it and its keys, or a node owned
// by ed with its own keys array: a copy of n with room for extra more
// entries (a full node's room, so later inserts by the same edit go in
// place), or n itself with its keys copied when ed owns n but not its
// keys.
func (n *mnode) ownKeys(ed *edit, extra int) *mnode {
	if n.mine(ed) {
		if n.ked != ed {
			n.keys, n.ked = append(make([]string, 0, len(n.keys)+extra), n.keys...), ed
		}
		return n
	}
	need := len(n.keys)
	if extra > 0 {
		need = max(need+extra, mapLeafMax+1)
		if !n.leaf() {
			need = max(need, mapBranchMax+1)
		}
	}
	if n.leaf() {
		return newMapLeaf(ed, n.keys, n.vals(), need)
	}
	return newMapInner(ed, n.keys, n.kids(), need)
}

// insert puts key and v (a value, or a child for an inner node) at i in
// n, which ed must own with its keys.
func (n *mnode) insert(i int, key string, v Value, kid *mnode) {
	if n.leaf() {
		n.setVals(insertAt(n.vals(), i, v))
	} else {
		n.setKids(insertAt(n.kids(), i, kid))
	}
	n.keys = insertAt(n.keys, i, key)
}

// remove takes entry i out of n, which ed must own with its keys.
func (n *mnode) remove(i int) {
	if n.leaf() {
		removeAt(n.vals(), i)
	} else {
		removeAt(n.kids(), i)
	}
	n.keys = removeAt(n.keys, i)
}

// split moves the entries from h on into a new node owned by ed (with
// room for one more) and returns it.
func (n *mnode) split(ed *edit, h int) *mnode {
	var r *mnode
	if n.leaf() {
		vs := n.vals()
		r = newMapLeaf(ed, n.keys[h:], vs[h:], mapLeafMax+1)
		clear(vs[h:])
	} else {
		ks := n.kids()
		r = newMapInner(ed, n.keys[h:], ks[h:], mapBranchMax+1)
		clear(ks[h:])
	}
	clear(n.keys[h:])
	n.keys = n.keys[:h]
	return r
}

// Nodes are allocated together with their value or child array (one
// allocation per copied node), in size classes chosen to fill Go's
// allocation size classes with a 56-byte header: leaves of 1, 3, 6 and 8
// entries (80, 128, 208, 256 bytes) and 9 (room for the insert that
// splits it, 288); inner nodes of 3, 5, 9, 13 and 17 children (80, 96,
// 128, 160, 192 bytes).
func allocLeaf(need int) *mnode {
	switch {
	case need <= 1:
		return leafOf[[1]Value]()
	case need <= 3:
		return leafOf[[3]Value]()
	case need <= 6:
		return leafOf[[6]Value]()
	case need <= mapLeafMax:
		return leafOf[[mapLeafMax]Value]()
	case need <= mapLeafMax+1:
		return leafOf[[mapLeafMax + 1]Value]()
	}
	n := &mnode{}
	n.setVals(make([]Value, need))
	return n
}

// leafOf allocates a leaf and its value array A ([k]Value) together.
func leafOf[A any]() *mnode {
	n, p, room := nodeWith[mnode, A](unsafe.Sizeof(Value{}))
	n.arr, n.room = p, room
	return n
}

// nodeWith allocates a node header H and an array A together, and returns
// the header, the array's address and its length in elements of elem
// bytes. (Map and list nodes keep their arrays this way.)
func nodeWith[H, A any](elem uintptr) (*H, unsafe.Pointer, uint32) {
	x := new(struct {
		h H
		b A
	})
	return &x.h, unsafe.Pointer(&x.b), uint32(unsafe.Sizeof(x.b) / elem)
}

func allocInner(need int) *mnode {
	var n *mnode
	switch {
	case need <= 3:
		n = innerOf[[3]*mnode]()
	case need <= 5:
		n = innerOf[[5]*mnode]()
	case need <= 9:
		n = innerOf[[9]*mnode]()
	case need <= 13:
		n = innerOf[[13]*mnode]()
	case need <= mapBranchMax+1:
		n = innerOf[[mapBranchMax + 1]*mnode]()
	default:
		n = &mnode{}
		n.setKids(make([]*mnode, need))
	}
	n.inner = true
	return n
}

// innerOf is leafOf for inner nodes (A is [k]*mnode).
func innerOf[A any]() *mnode {
	n, p, room := nodeWith[mnode, A](unsafe.Sizeof((*mnode)(nil)))
	n.arr, n.room = p, room
	return n
}

// newMapLeaf returns a leaf owned by ed (values and keys) holding copies
// of keys and vals, with room for at least need entries.
func newMapLeaf(ed *edit, keys []string, vals []Value, need int) *mnode {
	n := allocLeaf(need)
	n.ed, n.ked = ed, ed
	n.keys = append(make([]string, 0, need), keys...)
	copy(n.vals(), vals)
	return n
}

// newMapInner is newMapLeaf for inner nodes.
func newMapInner(ed *edit, keys []string, kids []*mnode, need int) *mnode {
	n := allocInner(need)
	n.ed, n.ked = ed, ed
	n.keys = append(make([]string, 0, need), keys...)
	copy(n.kids(), kids)
	return n
}

// newMapLeafIn returns a leaf owned by ed holding vals, whose keys are
// keys itself (not copied): the caller gives up keys, a region of a
// larger array that no other node uses (full: appending reallocates).
func newMapLeafIn(ed *edit, keys []string, vals []Value) *mnode {
	n := allocLeaf(len(vals))
	n.ed, n.ked = ed, ed
	n.keys = keys[:len(keys):len(keys)]
	copy(n.vals(), vals)
	return n
}

// childFor returns the index of the child whose key range holds key.
func (n *mnode) childFor(key string) int {
	lo, hi := 1, len(n.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.keys[m] <= key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

func (n *mnode) search(key string) (int, bool) {
	lo, hi := 0, len(n.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.keys[m] < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.keys) && n.keys[lo] == key
}

func mapGet(n *mnode, key string) (Value, bool) {
	for n != nil {
		if n.leaf() {
			i, ok := n.search(key)
			if !ok {
				return Value{}, false
			}
			return n.vals()[i], true
		}
		n = n.kids()[n.childFor(key)]
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
		return newMapLeaf(ed, []string{key}, []Value{v}, 1), Value{}, true
	}
	n, split, old, added := mapSetNode(ed, root, key, v, skipEqual)
	if split != nil {
		n = newMapInner(ed, []string{n.minKey(), split.minKey()}, []*mnode{n, split}, 2)
	}
	return n, old, added
}

func mapSetNode(ed *edit, n *mnode, key string, v Value, skipEqual bool) (*mnode, *mnode, Value, bool) {
	if n.leaf() {
		i, ok := n.search(key)
		if ok {
			old := n.vals()[i]
			if skipEqual && old.Equal(v) {
				return n, nil, old, false
			}
			n = n.own(ed, i)
			n.vals()[i] = v
			return n, nil, old, false
		}
		n = n.ownKeys(ed, 1)
		n.insert(i, key, v, nil)
		if len(n.keys) <= mapLeafMax {
			return n, nil, Value{}, true
		}
		return n, n.split(ed, len(n.keys)/2), Value{}, true
	}
	i := n.childFor(key)
	c, split, old, added := mapSetNode(ed, n.kids()[i], key, v, skipEqual)
	lower := key < n.keys[i]
	if c == n.kids()[i] && split == nil && !lower && (keepParent(ed, c.ed, n.ed) || n.retag(ed)) {
		return n, nil, old, added // unchanged, or changed in place
	}
	if split == nil && !lower {
		n = n.own(ed, i)
		n.kids()[i] = c
		return n, nil, old, added
	}
	extra := 0
	if split != nil {
		extra = 1
	}
	n = n.ownKeys(ed, extra)
	n.kids()[i] = c
	if lower {
		n.keys[i] = key
	}
	if split == nil {
		return n, nil, old, added
	}
	n.insert(i+1, split.minKey(), Value{}, split)
	if len(n.keys) <= mapBranchMax {
		return n, nil, old, added
	}
	return n, n.split(ed, len(n.keys)/2), old, added
}

// keepParent reports whether a parent (token parent) whose child node
// (token child) came back as the same node may be left as it is: the child
// is unchanged, or changed in place under a parent ed has already. A child
// changed in place that ed adopted needs its parent taken over too, so
// that every node ed may change has only nodes ed may change above it (see
// detach).
func keepParent(ed, child, parent *edit) bool {
	return ed == nil || child != ed || parent == ed
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
		old := n.vals()[i]
		nv, err := fn(old)
		if err != nil || (nv.identical(old) && (keepParent(ed, rootEdit(nv), n.ed) || n.retag(ed))) {
			return n, err
		}
		n = n.own(ed, i)
		n.vals()[i] = nv
		return n, nil
	}
	i := n.childFor(key)
	kid := n.kids()[i]
	c, err := mapUpdate(ed, kid, key, fn)
	if err != nil || (c == kid && (keepParent(ed, c.ed, n.ed) || n.retag(ed))) {
		return n, err
	}
	n = n.own(ed, i)
	n.kids()[i] = c
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
	for n != nil && !n.leaf() && len(n.keys) == 1 {
		n = n.kids()[0]
	}
	if n != nil && n.size() == 0 {
		n = nil
	}
	return n, old, true
}

// mapDeleteNode removes a key known to be present.
func mapDeleteNode(ed *edit, n *mnode, key string) (*mnode, Value) {
	if n.leaf() {
		n = n.ownKeys(ed, 0)
		i, _ := n.search(key)
		old := n.vals()[i]
		n.remove(i)
		return n, old
	}
	i := n.childFor(key)
	c, old := mapDeleteNode(ed, n.kids()[i], key)
	if c.size() == 0 {
		n = n.ownKeys(ed, 0)
		n.remove(i)
		return n, old
	}
	if k := c.minKey(); k != n.keys[i] {
		n = n.ownKeys(ed, 0)
		n.keys[i] = k
	} else {
		n = n.own(ed, i)
	}
	n.kids()[i] = c
	return n, old
}

// mapBuild builds a tree from entries already sorted by key with no
// duplicates, bottom-up, in O(n). It keeps keys (the leaves' keys are
// regions of it); vals is copied.
func mapBuild(ed *edit, keys []string, vals []Value) *mnode {
	if len(keys) == 0 {
		return nil
	}
	level := make([]*mnode, 0, (len(keys)+mapLeafMax-1)/mapLeafMax)
	for i := 0; i < len(keys); i += mapLeafMax {
		j := min(i+mapLeafMax, len(keys))
		level = append(level, newMapLeafIn(ed, keys[i:j], vals[i:j]))
	}
	return mapBuildUp(ed, level)
}

// mapBuildUp builds the inner levels over leaves (in key order, at least
// one) and returns the root, full inner nodes (the last of each level may
// be short), one allocation per node plus one keys array per level. It
// reuses level's room.
func mapBuildUp(ed *edit, level []*mnode) *mnode {
	for len(level) > 1 {
		keys := make([]string, len(level))
		for i, k := range level {
			keys[i] = k.minKey()
		}
		up := level[:0] // each node is read before its slot is reused
		for i := 0; i < len(level); i += mapBranchMax {
			j := min(i+mapBranchMax, len(level))
			n := allocInner(j - i)
			n.ed, n.ked = ed, ed
			n.keys = keys[i:j:j]
			copy(n.kids(), level[i:j])
			up = append(up, n)
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
		for i, v := range n.vals() {
			if !yield(n.keys[i], v) {
				return false
			}
		}
		return true
	}
	for _, c := range n.kids() {
		if !mapEach(c, yield) {
			return false
		}
	}
	return true
}

// sameKeys reports whether a and b hold the same keys array (a node and
// its copy for a change of values share it).
func sameKeys(a, b *mnode) bool {
	return len(a.keys) == len(b.keys) && (len(a.keys) == 0 || &a.keys[0] == &b.keys[0])
}

// aligned reports whether two inner nodes split the key space the same
// way, so their children can be compared pairwise.
func aligned(a, b *mnode) bool {
	if a.leaf() || b.leaf() || len(a.keys) != len(b.keys) {
		return false
	}
	if sameKeys(a, b) {
		return true
	}
	for i := 1; i < len(a.keys); i++ {
		if a.keys[i] != b.keys[i] {
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
		ak, bk := a.kids(), b.kids()
		for i := range ak {
			if !mapNodeEqual(ak[i], bk[i]) {
				return false
			}
		}
		return true
	}
	if a.leaf() && b.leaf() {
		if len(a.keys) != len(b.keys) {
			return false
		}
		same := sameKeys(a, b)
		av, bv := a.vals(), b.vals()
		for i := range av {
			if (!same && a.keys[i] != b.keys[i]) || !av[i].Equal(bv[i]) {
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
