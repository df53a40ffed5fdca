package draft

// lnode is a node of the persistent counted B+tree (a rope of chunks) that
// holds a list. Leaves hold up to listLeafMax items; inner nodes hold up to
// listBranchMax kids and the item count of each, so indexing, inserting and
// removing at any position cost O(log n).
type lnode struct {
	ed    *edit
	items []Value  // leaf only
	kids  []*lnode // inner only
	sizes []int    // inner only: items under kids[i]
}

// A write copies the leaf it changes and the inner nodes above it. Leaves
// of 16 items and inner nodes of 32 kids: a million items fit in five
// levels, and a write at the end of a list (an append) copies a leaf of
// 8 items on average instead of 16 with leaves of 32 (W2, which appends
// to a 5- to 105-item list, copies 611 -> about 330 bytes of leaf).
const (
	listLeafMax   = 16
	listBranchMax = 32
)

func (n *lnode) leaf() bool { return n.kids == nil }

func (n *lnode) count() int {
	if n.leaf() {
		return len(n.items)
	}
	c := 0
	for _, s := range n.sizes {
		c += s
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
		return newListLeaf(ed, n.items, len(n.items)+extra)
	}
	return newListInner(ed, n.kids, n.sizes, len(n.kids)+extra)
}

// Nodes are allocated together with their arrays (one allocation per
// copied node), in size classes like map nodes (an 80-byte header plus
// 24-byte items or 16-byte kids).
type (
	lleaf2 struct {
		n lnode
		b [2]Value
	}
	lleaf4 struct {
		n lnode
		b [4]Value
	}
	lleaf8 struct {
		n lnode
		b [8]Value
	}
	lleaf12 struct {
		n lnode
		b [12]Value
	}
	lleafMax struct {
		n lnode
		b [listLeafMax]Value
	}
	lleafFull struct {
		n lnode
		b [listLeafMax + 1]Value
	}
	linner4 struct {
		n lnode
		k [4]*lnode
		s [4]int
	}
	linner8 struct {
		n lnode
		k [8]*lnode
		s [8]int
	}
	linner16 struct {
		n lnode
		k [16]*lnode
		s [16]int
	}
	linnerFull struct {
		n lnode
		k [listBranchMax + 1]*lnode
		s [listBranchMax + 1]int
	}
)

func newListLeaf(ed *edit, items []Value, need int) *lnode {
	var n *lnode
	var b []Value
	switch {
	case need <= 2:
		x := &lleaf2{}
		n, b = &x.n, x.b[:0]
	case need <= 4:
		x := &lleaf4{}
		n, b = &x.n, x.b[:0]
	case need <= 8:
		x := &lleaf8{}
		n, b = &x.n, x.b[:0]
	case need <= 12:
		x := &lleaf12{}
		n, b = &x.n, x.b[:0]
	case need <= listLeafMax:
		x := &lleafMax{}
		n, b = &x.n, x.b[:0]
	case need <= listLeafMax+1:
		x := &lleafFull{}
		n, b = &x.n, x.b[:0]
	default:
		n, b = &lnode{}, make([]Value, 0, need)
	}
	n.ed, n.items = ed, append(b, items...)
	return n
}

func newListInner(ed *edit, kids []*lnode, sizes []int, need int) *lnode {
	var n *lnode
	var k []*lnode
	var s []int
	switch {
	case need <= 4:
		x := &linner4{}
		n, k, s = &x.n, x.k[:0], x.s[:0]
	case need <= 8:
		x := &linner8{}
		n, k, s = &x.n, x.k[:0], x.s[:0]
	case need <= 16:
		x := &linner16{}
		n, k, s = &x.n, x.k[:0], x.s[:0]
	case need <= listBranchMax+1:
		x := &linnerFull{}
		n, k, s = &x.n, x.k[:0], x.s[:0]
	default:
		n, k, s = &lnode{}, make([]*lnode, 0, need), make([]int, 0, need)
	}
	n.ed, n.kids, n.sizes = ed, append(k, kids...), append(s, sizes...)
	return n
}

// find returns the child holding position i and i relative to that child.
// With end set, a position equal to a child's size stays in that child
// (used by insert, so appends go to the last child).
func (n *lnode) find(i int, end bool) (int, int) {
	for k, s := range n.sizes {
		if i < s || (end && i == s) {
			return k, i
		}
		i -= s
	}
	panic("draft: list index beyond node size (broken invariant)")
}

func listGet(n *lnode, i int) Value {
	for !n.leaf() {
		var k int
		k, i = n.find(i, false)
		n = n.kids[k]
	}
	return n.items[i]
}

// listSet replaces the item at i (which must be in range) and returns the
// new root and the old item.
func listSet(ed *edit, n *lnode, i int, v Value) (*lnode, Value) {
	n = n.own(ed, 0)
	if n.leaf() {
		old := n.items[i]
		n.items[i] = v
		return n, old
	}
	k, j := n.find(i, false)
	c, old := listSet(ed, n.kids[k], j, v)
	n.kids[k] = c
	return n, old
}

// listInsert inserts v before position i (0 <= i <= length).
func listInsert(ed *edit, root *lnode, i int, v Value) *lnode {
	if root == nil {
		return newListLeaf(ed, []Value{v}, 1)
	}
	n, split := listInsertNode(ed, root, i, v)
	if split != nil {
		n = newListInner(ed, []*lnode{n, split}, []int{n.count(), split.count()}, 2)
	}
	return n
}

func listInsertNode(ed *edit, n *lnode, i int, v Value) (*lnode, *lnode) {
	if n.leaf() {
		n = n.own(ed, 1)
		n.items = insertAt(n.items, i, v)
		if len(n.items) <= listLeafMax {
			return n, nil
		}
		// Split unevenly when appending so that lists built by appends
		// end up with full leaves.
		h := len(n.items) / 2
		if i == len(n.items)-1 {
			h = len(n.items) - 1
		}
		r := newListLeaf(ed, n.items[h:], listLeafMax+1)
		clear(n.items[h:])
		n.items = n.items[:h]
		return n, r
	}
	k, j := n.find(i, true)
	c, split := listInsertNode(ed, n.kids[k], j, v)
	extra := 0
	if split != nil {
		extra = 1
	}
	n = n.own(ed, extra) // a copy has the same kids, so k still holds
	n.kids[k] = c
	n.sizes[k]++
	if split == nil {
		return n, nil
	}
	n.sizes[k] = c.count()
	n.kids = insertAt(n.kids, k+1, split)
	n.sizes = insertAt(n.sizes, k+1, split.count())
	if len(n.kids) <= listBranchMax {
		return n, nil
	}
	h := len(n.kids) / 2
	if k+1 == len(n.kids)-1 {
		h = len(n.kids) - 1
	}
	r := newListInner(ed, n.kids[h:], n.sizes[h:], listBranchMax+1)
	clear(n.kids[h:])
	n.kids, n.sizes = n.kids[:h], n.sizes[:h]
	return n, r
}

// listRemove removes the item at i (in range) and returns the new root
// (nil when the list becomes empty) and the removed item.
func listRemove(ed *edit, root *lnode, i int) (*lnode, Value) {
	n, old := listRemoveNode(ed, root, i)
	for n != nil && !n.leaf() && len(n.kids) == 1 {
		n = n.kids[0]
	}
	if n != nil && n.leaf() && len(n.items) == 0 {
		n = nil
	}
	return n, old
}

func listRemoveNode(ed *edit, n *lnode, i int) (*lnode, Value) {
	n = n.own(ed, 0)
	if n.leaf() {
		old := n.items[i]
		n.items = removeAt(n.items, i)
		return n, old
	}
	k, j := n.find(i, false)
	c, old := listRemoveNode(ed, n.kids[k], j)
	if n.sizes[k] == 1 {
		n.kids = removeAt(n.kids, k)
		n.sizes = removeAt(n.sizes, k)
		return n, old
	}
	n.kids[k] = c
	n.sizes[k]--
	return n, old
}

// listBuild builds a tree from items in O(n).
func listBuild(ed *edit, items []Value) *lnode {
	if len(items) == 0 {
		return nil
	}
	var level []*lnode
	for i := 0; i < len(items); i += listLeafMax {
		j := min(i+listLeafMax, len(items))
		level = append(level, newListLeaf(ed, items[i:j], j-i))
	}
	for len(level) > 1 {
		var up []*lnode
		for i := 0; i < len(level); i += listBranchMax {
			j := min(i+listBranchMax, len(level))
			p := &lnode{ed: ed, kids: append(make([]*lnode, 0, j-i), level[i:j]...)}
			for _, k := range p.kids {
				p.sizes = append(p.sizes, k.count())
			}
			up = append(up, p)
		}
		level = up
	}
	return level[0]
}

func listEach(n *lnode, base int, yield func(int, Value) bool) (int, bool) {
	if n == nil {
		return base, true
	}
	if n.leaf() {
		for _, v := range n.items {
			if !yield(base, v) {
				return base, false
			}
			base++
		}
		return base, true
	}
	for _, c := range n.kids {
		var ok bool
		if base, ok = listEach(c, base, yield); !ok {
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
	if !a.leaf() && !b.leaf() && len(a.kids) == len(b.kids) {
		aligned := true
		for i := range a.sizes {
			if a.sizes[i] != b.sizes[i] {
				aligned = false
				break
			}
		}
		if aligned {
			for i := range a.kids {
				if !listNodeEqual(a.kids[i], b.kids[i]) {
					return false
				}
			}
			return true
		}
	}
	if a.leaf() && b.leaf() {
		if len(a.items) != len(b.items) {
			return false
		}
		for i := range a.items {
			if !a.items[i].Equal(b.items[i]) {
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
