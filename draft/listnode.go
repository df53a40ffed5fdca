package draft

import "unsafe"

// lnode is a node of the persistent counted B+tree (a rope of chunks) that
// holds a list. Leaves hold up to listLeafMax items; inner nodes hold up to
// listBranchMax kids and the item count of each, so indexing, inserting and
// removing at any position cost O(log n).
//
// A leaf's items are one array, usually allocated with the node, of which
// the node keeps the address, the length and the room (a 32-byte header).
// An inner node keeps its last kid (tail) right after the header and the
// others in an array (arr, n-1 of them) that copies of the node share: a
// write under the last kid (an append) copies the 48-byte header and
// tail, not the kids, whatever the node's width. The array is written in
// place only by the edit that made it (pown, with ed).
type lnode struct {
	ed    *edit
	arr   unsafe.Pointer // leaf: the first item; inner: the first kid
	n     uint32         // items, or kids (with the tail)
	room  uint32         // arr's capacity
	inner bool
	pown  bool // inner: ed may write arr in place
	part  bool // adopted with only some slots saved (see mineAt)
}

// lkid is a child of an inner node and the number of items under it.
type lkid struct {
	n    *lnode
	size int
}

// innerHead is how an inner node is laid out: the header, then the tail.
type innerHead struct {
	n    lnode
	tail lkid
}

// A write copies the leaf it changes and the inner nodes above it (their
// headers only, for a write under their last kid). Leaves of 16 items and
// inner nodes of 32 kids: a million items fit in five levels, and a write
// at the end of a list (an append) copies a leaf of 8 items on average
// instead of 16 with leaves of 32.
const (
	listLeafMax   = 16
	listBranchMax = 32
)

func (n *lnode) leaf() bool { return !n.inner }

func (n *lnode) items() []Value { return unsafe.Slice((*Value)(n.arr), n.room)[:n.n] }

func (n *lnode) setItems(s []Value) {
	n.arr, n.n, n.room = unsafe.Pointer(unsafe.SliceData(s)), uint32(len(s)), uint32(cap(s))
}

// tail returns an inner node's last kid.
func (n *lnode) tail() *lkid { return &(*innerHead)(unsafe.Pointer(n)).tail }

// front returns an inner node's kids but the last (with the array's room).
func (n *lnode) front() []lkid { return unsafe.Slice((*lkid)(n.arr), n.room)[:n.n-1] }

// kid returns an inner node's kid k.
func (n *lnode) kid(k int) lkid {
	if k == int(n.n)-1 {
		return *n.tail()
	}
	return n.front()[k]
}

// kidsTo appends an inner node's kids to buf.
func (n *lnode) kidsTo(buf []lkid) []lkid { return append(append(buf, n.front()...), *n.tail()) }

func (n *lnode) count() int {
	if n.leaf() {
		return int(n.n)
	}
	c := n.tail().size
	for _, k := range n.front() {
		c += k.size
	}
	return c
}

// own returns n (a leaf) itself when ed owns it, or a copy owned by ed
// with room for extra more items, in the smallest size class that fits
// (so a write to a short list copies no spare room).
func (n *lnode) own(ed *edit, extra int) *lnode {
	if n.mine(ed) {
		return n
	}
	return newListLeaf(ed, n.items(), int(n.n)+extra)
}

// ownFor returns n (an inner node) itself when ed owns it, or a copy owned
// by ed for a change of kid k: of the header and tail only, sharing the
// other kids, when k is the last kid; of the whole node otherwise.
func (n *lnode) ownFor(ed *edit, k int) *lnode {
	if n.mineAt(ed, k) {
		return n
	}
	if k < int(n.n)-1 {
		var buf [listBranchMax + 1]lkid
		return newListInner(ed, n.kidsTo(buf[:0]), int(n.n))
	}
	h := &innerHead{n: *n, tail: *n.tail()}
	h.n.ed, h.n.pown, h.n.part = ed, false, false
	return &h.n
}

// setKid sets kid k of n, which ed owns.
func (n *lnode) setKid(ed *edit, k int, c lkid) {
	if k == int(n.n)-1 {
		*n.tail() = c
		return
	}
	if !n.pown {
		f := make([]lkid, n.n-1)
		copy(f, n.front())
		n.arr, n.room, n.pown = unsafe.Pointer(unsafe.SliceData(f)), uint32(len(f)), true
	}
	n.front()[k] = c
}

// withKids returns n (owned by ed) holding ks (at least one) instead of
// its kids: n itself, changed in place, when ed may write its array and
// the array has room, or else a new node.
func (n *lnode) withKids(ed *edit, ks []lkid) *lnode {
	if n.mine(ed) && n.pown && int(n.room) >= len(ks)-1 {
		f := unsafe.Slice((*lkid)(n.arr), n.room)
		copy(f, ks[:len(ks)-1])
		clear(f[len(ks)-1:]) // drop kids that moved or left
		n.n, *n.tail() = uint32(len(ks)), ks[len(ks)-1]
		return n
	}
	return newListInner(ed, ks, len(ks))
}

// Nodes are allocated together with their arrays (one allocation per
// copied node), in size classes that fill Go's allocation size classes:
// leaves (a 32-byte header) of 2 to 10, 12, 13, 14, 16 and 17 items (80
// to 448 bytes); inner nodes (a 48-byte header and tail) with room for
// 3, 5, 7, 11, 15, 19, 23, 27 and 32 more kids (96 to 576 bytes). A tail
// leaf is copied for every append, so the classes are fine-grained.
func newListLeaf(ed *edit, items []Value, need int) *lnode {
	var n *lnode
	switch {
	case need <= 2:
		n = listLeafOf[[2]Value]()
	case need <= 3:
		n = listLeafOf[[3]Value]()
	case need <= 4:
		n = listLeafOf[[4]Value]()
	case need <= 5:
		n = listLeafOf[[5]Value]()
	case need <= 6:
		n = listLeafOf[[6]Value]()
	case need <= 7:
		n = listLeafOf[[7]Value]()
	case need <= 8:
		n = listLeafOf[[8]Value]()
	case need <= 9:
		n = listLeafOf[[9]Value]()
	case need <= 10:
		n = listLeafOf[[10]Value]()
	case need <= 12:
		n = listLeafOf[[12]Value]()
	case need <= 13:
		n = listLeafOf[[13]Value]()
	case need <= 14:
		n = listLeafOf[[14]Value]()
	case need <= listLeafMax:
		n = listLeafOf[[listLeafMax]Value]()
	case need <= listLeafMax+1:
		n = listLeafOf[[listLeafMax + 1]Value]()
	default:
		n = &lnode{}
		n.setItems(make([]Value, 0, need))
	}
	n.ed = ed
	n.setItems(append(n.items(), items...))
	return n
}

// listLeafOf allocates a leaf and its item array A ([k]Value) together.
func listLeafOf[A any]() *lnode {
	n, p, room := nodeWith[lnode, A](unsafe.Sizeof(Value{}))
	n.arr, n.room = p, room
	return n
}

// newListInner returns an inner node owned by ed holding kids (at least
// one), with room for need kids.
func newListInner(ed *edit, kids []lkid, need int) *lnode {
	var n *lnode
	switch f := need - 1; {
	case f <= 3:
		n = listInnerOf[[3]lkid]()
	case f <= 5:
		n = listInnerOf[[5]lkid]()
	case f <= 7:
		n = listInnerOf[[7]lkid]()
	case f <= 11:
		n = listInnerOf[[11]lkid]()
	case f <= 15:
		n = listInnerOf[[15]lkid]()
	case f <= 19:
		n = listInnerOf[[19]lkid]()
	case f <= 23:
		n = listInnerOf[[23]lkid]()
	case f <= 27:
		n = listInnerOf[[27]lkid]()
	case f <= listBranchMax:
		n = listInnerOf[[listBranchMax]lkid]()
	default:
		h := &innerHead{}
		s := make([]lkid, f)
		h.n.arr, h.n.room = unsafe.Pointer(unsafe.SliceData(s)), uint32(f)
		n = &h.n
	}
	n.ed, n.inner, n.pown = ed, true, true
	copy(unsafe.Slice((*lkid)(n.arr), n.room), kids[:len(kids)-1])
	n.n, *n.tail() = uint32(len(kids)), kids[len(kids)-1]
	return n
}

// listInnerOf allocates an inner node (header and tail) and the array A
// ([k]lkid) of its other kids together.
func listInnerOf[A any]() *lnode {
	h, p, room := nodeWith[innerHead, A](unsafe.Sizeof(lkid{}))
	h.n.arr, h.n.room = p, room
	return &h.n
}

// find returns the child holding position i and i relative to that child.
// With end set, a position equal to a child's size stays in that child
// (used by insert, so appends go to the last child).
func (n *lnode) find(i int, end bool) (int, int) {
	f := n.front()
	for k, c := range f {
		if i < c.size || (end && i == c.size) {
			return k, i
		}
		i -= c.size
	}
	if t := n.tail(); i < t.size || (end && i == t.size) {
		return len(f), i
	}
	panic("draft: list index beyond node size (broken invariant)")
}

func listGet(n *lnode, i int) Value {
	for !n.leaf() {
		var k int
		k, i = n.find(i, false)
		n = n.kid(k).n
	}
	return n.items()[i]
}

// listSet replaces the item at i (which must be in range) and returns the
// new root and the old item.
func listSet(ed *edit, n *lnode, i int, v Value) (*lnode, Value) {
	if n.leaf() {
		if !n.mineAt(ed, i) {
			n = n.own(ed, 0)
		}
		it := n.items()
		old := it[i]
		it[i] = v
		return n, old
	}
	k, j := n.find(i, false)
	c := n.kid(k)
	nc, old := listSet(ed, c.n, j, v)
	if nc != c.n || !(keepParent(ed, nc.ed, n.ed) || n.retag(ed)) {
		n = n.ownFor(ed, k)
		n.setKid(ed, k, lkid{nc, c.size})
	}
	return n, old
}

// listInsert inserts v before position i (0 <= i <= length).
func listInsert(ed *edit, root *lnode, i int, v Value) *lnode {
	if root == nil {
		return newListLeaf(ed, []Value{v}, 1)
	}
	n, split := listInsertNode(ed, root, i, v)
	if split != nil {
		n = newListInner(ed, []lkid{{n, n.count()}, {split, split.count()}}, 2)
	}
	return n
}

func listInsertNode(ed *edit, n *lnode, i int, v Value) (*lnode, *lnode) {
	if n.leaf() {
		if i == listLeafMax && int(n.n) == listLeafMax {
			// An append to a full leaf: the leaf stays as it is (shared,
			// not copied) and the item starts the next leaf.
			return n, newListLeaf(ed, []Value{v}, 1)
		}
		// An adopted leaf saves what the insert (and a split) will move,
		// or, when it takes the insert in place without a split, where.
		if c := int(n.n) + 1; c > listLeafMax {
			h := c / 2
			if i == c-1 {
				h = c - 1
			}
			if !n.mineFrom(ed, min(i, h)) {
				n = n.own(ed, 1)
			}
		} else if n.n < n.room {
			if !n.mineInsert(ed, i) {
				n = n.own(ed, 1)
			}
		} else if !n.mineFrom(ed, i) {
			n = n.own(ed, 1)
		}
		it := insertAt(n.items(), i, v)
		n.setItems(it)
		if len(it) <= listLeafMax {
			return n, nil
		}
		// Split unevenly when appending so that lists built by appends
		// end up with full leaves.
		h := len(it) / 2
		if i == len(it)-1 {
			h = len(it) - 1
		}
		r := newListLeaf(ed, it[h:], listLeafMax+1)
		clear(it[h:])
		n.setItems(it[:h])
		return n, r
	}
	k, j := n.find(i, true)
	old := n.kid(k)
	c, split := listInsertNode(ed, old.n, j, v)
	if split == nil {
		if c == old.n && n.growKid(ed, k) {
			return n, nil
		}
		n = n.ownFor(ed, k)
		n.setKid(ed, k, lkid{c, old.size + 1})
		return n, nil
	}
	var buf [listBranchMax + 2]lkid
	ks := n.kidsTo(buf[:0])
	ks[k] = lkid{c, c.count()}
	ks = insertAt(ks, k+1, lkid{split, split.count()})
	if len(ks) <= listBranchMax {
		if !n.mine(ed) {
			return newListInner(ed, ks, len(ks)+1), nil // room for the next split
		}
		return n.withKids(ed, ks), nil
	}
	h := len(ks) / 2
	if k+1 == len(ks)-1 {
		h = len(ks) - 1
	}
	r := newListInner(ed, ks[h:], listBranchMax+1)
	if !n.mine(ed) {
		return newListInner(ed, ks[:h], h), r
	}
	return n.withKids(ed, ks[:h]), r
}

// listRemove removes the item at i (in range) and returns the new root
// (nil when the list becomes empty) and the removed item.
func listRemove(ed *edit, root *lnode, i int) (*lnode, Value) {
	n, old := listRemoveNode(ed, root, i)
	for n != nil && !n.leaf() && n.n == 1 {
		n = n.tail().n
	}
	if n != nil && n.leaf() && n.n == 0 {
		n = nil
	}
	return n, old
}

func listRemoveNode(ed *edit, n *lnode, i int) (*lnode, Value) {
	if n.leaf() {
		if !n.mineFrom(ed, i) {
			n = n.own(ed, 0)
		}
		it := n.items()
		old := it[i]
		n.setItems(removeAt(it, i))
		return n, old
	}
	k, j := n.find(i, false)
	c := n.kid(k)
	nc, old := listRemoveNode(ed, c.n, j)
	if c.size > 1 {
		n = n.ownFor(ed, k)
		n.setKid(ed, k, lkid{nc, c.size - 1})
		return n, old
	}
	if n.n == 1 { // the only kid is empty: so is n
		n = n.ownFor(ed, k)
		*n.tail() = lkid{nc, 0}
		return n, old
	}
	var buf [listBranchMax + 1]lkid
	ks := removeAt(n.kidsTo(buf[:0]), k)
	if !n.mine(ed) {
		return newListInner(ed, ks, len(ks)), old
	}
	return n.withKids(ed, ks), old
}

// listBuild builds a tree from items in O(n).
func listBuild(ed *edit, items []Value) *lnode {
	if len(items) == 0 {
		return nil
	}
	var level []lkid
	for i := 0; i < len(items); i += listLeafMax {
		j := min(i+listLeafMax, len(items))
		level = append(level, lkid{newListLeaf(ed, items[i:j], j-i), j - i})
	}
	for len(level) > 1 {
		up := level[:0] // each kid is read before its slot is reused
		for i := 0; i < len(level); i += listBranchMax {
			j := min(i+listBranchMax, len(level))
			p := newListInner(ed, level[i:j], j-i)
			up = append(up, lkid{p, p.count()})
		}
		level = up
	}
	return level[0].n
}

func listEach(n *lnode, base int, yield func(int, Value) bool) (int, bool) {
	if n == nil {
		return base, true
	}
	if n.leaf() {
		for _, v := range n.items() {
			if !yield(base, v) {
				return base, false
			}
			base++
		}
		return base, true
	}
	for k := range int(n.n) {
		var ok bool
		if base, ok = listEach(n.kid(k).n, base, yield); !ok {
			return base, false
		}
	}
	return base, true
}

// listNodeEqual compares two subtrees, skipping shared nodes and comparing
// aligned inner nodes child by child.
func listNodeEqual(a, b *lnode) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if !a.leaf() && !b.leaf() && a.n == b.n {
		aligned := true
		for k := range int(a.n) {
			if a.kid(k).size != b.kid(k).size {
				aligned = false
				break
			}
		}
		if aligned {
			for k := range int(a.n) {
				if !listNodeEqual(a.kid(k).n, b.kid(k).n) {
					return false
				}
			}
			return true
		}
	}
	if a.leaf() && b.leaf() {
		if a.n != b.n {
			return false
		}
		ai, bi := a.items(), b.items()
		for i := range ai {
			if !ai[i].Equal(bi[i]) {
				return false
			}
		}
		return true
	}
	var vs []Value
	listEach(a, 0, func(_ int, v Value) bool { vs = append(vs, v); return true })
	i := 0
	_, ok := listEach(b, 0, func(_ int, v Value) bool {
		if i >= len(vs) || !vs[i].Equal(v) {
			return false
		}
		i++
		return true
	})
	return ok && i == len(vs)
}
