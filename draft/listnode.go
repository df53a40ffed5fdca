package draft

import "unsafe"

// lnode is a node of the persistent counted B+tree (a rope of chunks) that
// holds a list. Leaves hold up to listLeafMax items; inner nodes hold up to
// listBranchMax kids and the item count of each, so indexing, inserting and
// removing at any position cost O(log n). The items or kids are one array,
// usually allocated with the node, of which the node keeps the address,
// the length and the room, so the header is 32 bytes.
type lnode struct {
	ed    *edit
	arr   unsafe.Pointer // the first item (leaf) or lkid (inner)
	n     uint32         // items or kids
	room  uint32         // arr's capacity
	inner bool
}

// lkid is a child of an inner node and the number of items under it.
type lkid struct {
	n    *lnode
	size int
}

// A write copies the leaf it changes and the inner nodes above it. Leaves
// of 16 items and inner nodes of 32 kids: a million items fit in five
// levels, and a write at the end of a list (an append) copies a leaf of
// 8 items on average instead of 16 with leaves of 32.
const (
	listLeafMax   = 16
	listBranchMax = 32
)

func (n *lnode) leaf() bool { return !n.inner }

func (n *lnode) items() []Value { return unsafe.Slice((*Value)(n.arr), n.room)[:n.n] }

func (n *lnode) kids() []lkid { return unsafe.Slice((*lkid)(n.arr), n.room)[:n.n] }

func (n *lnode) setItems(s []Value) {
	n.arr, n.n, n.room = unsafe.Pointer(unsafe.SliceData(s)), uint32(len(s)), uint32(cap(s))
}

func (n *lnode) setKids(s []lkid) {
	n.arr, n.n, n.room = unsafe.Pointer(unsafe.SliceData(s)), uint32(len(s)), uint32(cap(s))
}

func (n *lnode) count() int {
	if n.leaf() {
		return int(n.n)
	}
	c := 0
	for _, k := range n.kids() {
		c += k.size
	}
	return c
}

// own returns n itself when ed owns it, or a copy owned by ed with room
// for extra more items or kids, in the smallest size class that fits (so
// a write to a short list, or to a path through a few-kid inner node,
// copies no spare room).
func (n *lnode) own(ed *edit, extra int) *lnode {
	if ed != nil && n.ed == ed {
		return n
	}
	if n.leaf() {
		return newListLeaf(ed, n.items(), int(n.n)+extra)
	}
	return newListInner(ed, n.kids(), int(n.n)+extra)
}

// Nodes are allocated together with their arrays (one allocation per
// copied node), in size classes that fill Go's allocation size classes
// with the 32-byte header: leaves of 2 to 10, 12, 13, 14, 16 and 17
// items (80 to 448 bytes), inner nodes of 4, 8, 12, 16, 20, 24, 28 and 33
// kids (96 to 576 bytes). A tail leaf is copied for every append, so the
// classes are fine-grained.
func newListLeaf(ed *edit, items []Value, need int) *lnode {
	var n *lnode
	switch {
	case need <= 2:
		n = listNodeOf[Value, [2]Value]()
	case need <= 3:
		n = listNodeOf[Value, [3]Value]()
	case need <= 4:
		n = listNodeOf[Value, [4]Value]()
	case need <= 5:
		n = listNodeOf[Value, [5]Value]()
	case need <= 6:
		n = listNodeOf[Value, [6]Value]()
	case need <= 7:
		n = listNodeOf[Value, [7]Value]()
	case need <= 8:
		n = listNodeOf[Value, [8]Value]()
	case need <= 9:
		n = listNodeOf[Value, [9]Value]()
	case need <= 10:
		n = listNodeOf[Value, [10]Value]()
	case need <= 12:
		n = listNodeOf[Value, [12]Value]()
	case need <= 13:
		n = listNodeOf[Value, [13]Value]()
	case need <= 14:
		n = listNodeOf[Value, [14]Value]()
	case need <= listLeafMax:
		n = listNodeOf[Value, [listLeafMax]Value]()
	case need <= listLeafMax+1:
		n = listNodeOf[Value, [listLeafMax + 1]Value]()
	default:
		n = &lnode{}
		n.setItems(make([]Value, 0, need))
	}
	n.ed = ed
	n.setItems(append(n.items(), items...))
	return n
}

func newListInner(ed *edit, kids []lkid, need int) *lnode {
	var n *lnode
	switch {
	case need <= 4:
		n = listNodeOf[lkid, [4]lkid]()
	case need <= 8:
		n = listNodeOf[lkid, [8]lkid]()
	case need <= 12:
		n = listNodeOf[lkid, [12]lkid]()
	case need <= 16:
		n = listNodeOf[lkid, [16]lkid]()
	case need <= 20:
		n = listNodeOf[lkid, [20]lkid]()
	case need <= 24:
		n = listNodeOf[lkid, [24]lkid]()
	case need <= 28:
		n = listNodeOf[lkid, [28]lkid]()
	case need <= listBranchMax+1:
		n = listNodeOf[lkid, [listBranchMax + 1]lkid]()
	default:
		n = &lnode{}
		n.setKids(make([]lkid, 0, need))
	}
	n.ed, n.inner = ed, true
	n.setKids(append(n.kids(), kids...))
	return n
}

// listNodeOf allocates a node and its array A ([k]E, E being Value or
// lkid) together, with no items or kids yet.
func listNodeOf[E, A any]() *lnode {
	x := new(struct {
		n lnode
		b A
	})
	var e E
	x.n.arr, x.n.room = unsafe.Pointer(&x.b), uint32(unsafe.Sizeof(x.b)/unsafe.Sizeof(e))
	return &x.n
}

// find returns the child holding position i and i relative to that child.
// With end set, a position equal to a child's size stays in that child
// (used by insert, so appends go to the last child).
func (n *lnode) find(i int, end bool) (int, int) {
	for k, c := range n.kids() {
		if i < c.size || (end && i == c.size) {
			return k, i
		}
		i -= c.size
	}
	panic("draft: list index beyond node size (broken invariant)")
}

func listGet(n *lnode, i int) Value {
	for !n.leaf() {
		var k int
		k, i = n.find(i, false)
		n = n.kids()[k].n
	}
	return n.items()[i]
}

// listSet replaces the item at i (which must be in range) and returns the
// new root and the old item.
func listSet(ed *edit, n *lnode, i int, v Value) (*lnode, Value) {
	n = n.own(ed, 0)
	if n.leaf() {
		it := n.items()
		old := it[i]
		it[i] = v
		return n, old
	}
	k, j := n.find(i, false)
	ks := n.kids()
	c, old := listSet(ed, ks[k].n, j, v)
	ks[k].n = c
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
		n = n.own(ed, 1)
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
	c, split := listInsertNode(ed, n.kids()[k].n, j, v)
	extra := 0
	if split != nil {
		extra = 1
	}
	n = n.own(ed, extra) // a copy has the same kids, so k still holds
	ks := n.kids()
	ks[k].n = c
	ks[k].size++
	if split == nil {
		return n, nil
	}
	ks[k].size = c.count()
	ks = insertAt(ks, k+1, lkid{split, split.count()})
	n.setKids(ks)
	if len(ks) <= listBranchMax {
		return n, nil
	}
	h := len(ks) / 2
	if k+1 == len(ks)-1 {
		h = len(ks) - 1
	}
	r := newListInner(ed, ks[h:], listBranchMax+1)
	clear(ks[h:])
	n.setKids(ks[:h])
	return n, r
}

// listRemove removes the item at i (in range) and returns the new root
// (nil when the list becomes empty) and the removed item.
func listRemove(ed *edit, root *lnode, i int) (*lnode, Value) {
	n, old := listRemoveNode(ed, root, i)
	for n != nil && !n.leaf() && n.n == 1 {
		n = n.kids()[0].n
	}
	if n != nil && n.leaf() && n.n == 0 {
		n = nil
	}
	return n, old
}

func listRemoveNode(ed *edit, n *lnode, i int) (*lnode, Value) {
	n = n.own(ed, 0)
	if n.leaf() {
		it := n.items()
		old := it[i]
		n.setItems(removeAt(it, i))
		return n, old
	}
	k, j := n.find(i, false)
	ks := n.kids()
	c, old := listRemoveNode(ed, ks[k].n, j)
	if ks[k].size == 1 {
		n.setKids(removeAt(ks, k))
		return n, old
	}
	ks[k].n = c
	ks[k].size--
	return n, old
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
	for _, c := range n.kids() {
		var ok bool
		if base, ok = listEach(c.n, base, yield); !ok {
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
		ak, bk := a.kids(), b.kids()
		aligned := true
		for i := range ak {
			if ak[i].size != bk[i].size {
				aligned = false
				break
			}
		}
		if aligned {
			for i := range ak {
				if !listNodeEqual(ak[i].n, bk[i].n) {
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
