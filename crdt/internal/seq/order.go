package seq

// This file holds the order-statistic tree: a counted B+tree over every slot
// in list order (the head sentinel first). Leaves hold up to leafCap slot
// indexes with a bitmask of which are visible; inner nodes hold up to
// innerCap children with the number of visible slots under each. Every slot
// records its leaf, so id -> index walks up from the leaf and index -> id
// walks down from the root; both touch a few short arrays per level.
//
// Everything lives in slices linked by int32 indexes: the garbage collector
// never scans them and Clone is a copy. Index 0 means "none" in every slice.

import (
	"math/bits"
	"slices"
)

const (
	leafCap  = 64 // slots per leaf (the visibility mask is a uint64)
	innerCap = 32 // children per inner node
	fillLeaf = 48 // slots per leaf when building from an encoding
	fillIn   = 24 // children per inner node when building
)

// node is one slot: its place in the Fugue tree and the leaf holding it.
type node struct {
	id ID
	// Fugue tree: parent, side under it (sideLeft/sideRight), the first child
	// on each side and the next sibling on the same side, ascending by id.
	parent int32
	kids   [2]int32
	sib    int32
	leaf   int32 // leaf of the order tree that holds this slot
	side   uint8
	vis    bool
}

const (
	nilNode  int32 = 0
	headNode int32 = 1
)

const (
	sideLeft  = 0 // left child: placed before its parent
	sideRight = 1 // right child: placed after its parent
)

type leaf struct {
	items  [leafCap]int32 // slot indexes in list order; the first n are used
	vis    uint64         // bit i: items[i] is visible
	n      int32
	parent int32 // inner node
	at     int32 // this leaf's position in its parent's kids
	next   int32 // next leaf in list order, 0 at the end
}

type inner struct {
	kids     [innerCap]int32 // leaf indexes if leafKids, inner indexes otherwise
	cnts     [innerCap]int32 // visible slots under each child
	n        int32
	parent   int32 // 0 for the root
	at       int32 // this node's position in its parent's kids (0 for the root)
	leafKids bool
}

// childAt returns the position of child c (a leaf if leafKid) in its
// parent's kids.
func (l *List) childAt(leafKid bool, c int32) int32 {
	if leafKid {
		return l.leaves[c].at
	}
	return l.inners[c].at
}

func (in *inner) sum() int32 {
	var s int32
	for _, c := range in.cnts[:in.n] {
		s += c
	}
	return s
}

// initOrder sets up the order tree holding only the head.
func (l *List) initOrder() {
	l.leaves = make([]leaf, 2, 4)
	l.inners = make([]inner, 2, 4)
	l.leaves[1] = leaf{n: 1, parent: 1}
	l.leaves[1].items[0] = headNode
	l.inners[1] = inner{n: 1, leafKids: true}
	l.inners[1].kids[0] = 1
	l.root = 1
	l.n.at(headNode).leaf = 1
}

// posIn returns x's leaf and its position there.
func (l *List) posIn(x int32) (int32, int) {
	lf := l.n.at(x).leaf
	L := &l.leaves[lf]
	for i, it := range L.items[:L.n] {
		if it == x {
			return lf, i
		}
	}
	panic("seq: broken invariant: slot not in its leaf")
}

// addCount adds d visible slots under leaf lf.
func (l *List) addCount(lf int32, d int32) {
	L := &l.leaves[lf]
	l.addUp(L.parent, L.at, d)
	l.visible += int(d)
}

// addUp adds d to the count of the child at position at of inner node p
// and to the counts of p's ancestors.
func (l *List) addUp(p, at, d int32) {
	for p != 0 {
		in := &l.inners[p]
		in.cnts[at] += d
		at, p = in.at, in.parent
	}
}

// rank returns the number of visible slots before x.
func (l *List) rank(x int32) int { return l.rankSet(x, l.n.at(x).vis) }

// rankSet makes x visible or hidden and returns the number of visible slots
// before x: one walk up the tree finds x's child index at each level, which
// both the count update and the rank need (x's own visibility counts in
// neither the leaf bits below it nor the children before it).
func (l *List) rankSet(x int32, v bool) int {
	lf, pos := l.posIn(x)
	L := &l.leaves[lf]
	var d int32
	if l.n.at(x).vis != v {
		l.n.at(x).vis = v
		L.vis ^= 1 << pos
		d = 1
		if !v {
			d = -1
		}
		l.visible += int(d)
	}
	r := int32(bits.OnesCount64(L.vis & (1<<pos - 1)))
	at, p := L.at, L.parent
	for p != 0 {
		in := &l.inners[p]
		in.cnts[at] += d
		for _, c := range in.cnts[:at] {
			r += c
		}
		at, p = in.at, in.parent
	}
	return int(r)
}

// visibleAt returns the visible slot at index i; 0 <= i < Len().
func (l *List) visibleAt(i int32) int32 {
	lf, pos := l.visibleAtPos(i)
	return l.leaves[lf].items[pos]
}

// visibleAtPos returns the leaf and position of the visible slot at index i.
func (l *List) visibleAtPos(i int32) (int32, int) {
	p := l.root
	for {
		in := &l.inners[p]
		j := 0
		for i >= in.cnts[j] {
			i -= in.cnts[j]
			j++
		}
		if !in.leafKids {
			p = in.kids[j]
			continue
		}
		return in.kids[j], selectBit(l.leaves[in.kids[j]].vis, int(i))
	}
}

// selectBit returns the position of the set bit of m with i set bits below
// it; m has more than i set bits. Halving by population counts, without
// branches (which bit is wanted is random), takes a few steps where
// clearing the lowest bit i times takes up to 63.
func selectBit(m uint64, i int) int {
	// skip is all ones when the bit is past the low half looked at.
	c := bits.OnesCount32(uint32(m))
	skip := (c - i - 1) >> 63
	i -= c & skip
	at := 32 & skip
	m >>= uint(at)
	c = bits.OnesCount16(uint16(m))
	skip = (c - i - 1) >> 63
	i -= c & skip
	at += 16 & skip
	m >>= uint(16 & skip)
	c = bits.OnesCount8(uint8(m))
	skip = (c - i - 1) >> 63
	i -= c & skip
	at += 8 & skip
	m >>= uint(8 & skip)
	for ; i > 0; i-- {
		m &= m - 1
	}
	return at + bits.TrailingZeros64(m)
}

// next returns the slot after x in list order (visible or not), or nilNode.
func (l *List) next(x int32) int32 {
	lf, pos := l.posIn(x)
	lf, pos = l.nextPos(lf, pos)
	if lf == 0 {
		return nilNode
	}
	return l.leaves[lf].items[pos]
}

// nextPos returns the leaf and position after position pos of leaf lf, or
// leaf 0 at the end of the list.
func (l *List) nextPos(lf int32, pos int) (int32, int) {
	L := &l.leaves[lf]
	if int32(pos+1) < L.n {
		return lf, pos + 1
	}
	return L.next, 0
}

// linkAfter puts the fresh slot x right after a in list order.
func (l *List) linkAfter(a, x int32) {
	lf, pos := l.posIn(a)
	l.insertInLeaf(lf, pos+1, x)
}

// linkBefore puts the fresh slot x right before b in list order.
func (l *List) linkBefore(b, x int32) {
	lf, pos := l.posIn(b)
	l.insertInLeaf(lf, pos, x)
}

// insertInLeaf inserts slot x at position pos (0..n) of leaf lf.
func (l *List) insertInLeaf(lf int32, pos int, x int32) {
	if l.leaves[lf].n == leafCap {
		r := l.splitLeaf(lf)
		if pos > leafCap/2 {
			lf, pos = r, pos-leafCap/2
		}
	}
	L := &l.leaves[lf]
	copy(L.items[pos+1:L.n+1], L.items[pos:L.n])
	L.items[pos] = x
	L.n++
	below := uint64(1)<<pos - 1
	L.vis = L.vis&below | (L.vis&^below)<<1
	l.n.at(x).leaf = lf
	if l.n.at(x).vis {
		L.vis |= 1 << pos
		l.addCount(lf, 1)
	}
}

// splitLeaf moves the upper half of full leaf lf to a new leaf after it and
// returns the new leaf.
func (l *List) splitLeaf(lf int32) int32 {
	r := int32(len(l.leaves))
	if len(l.leaves) == cap(l.leaves) {
		l.leaves = slices.Grow(l.leaves, len(l.leaves)) // double, as in alloc
	}
	l.leaves = append(l.leaves, leaf{})
	L, R := &l.leaves[lf], &l.leaves[r]
	const half = leafCap / 2
	copy(R.items[:], L.items[half:])
	R.n, L.n = half, half
	R.vis, L.vis = L.vis>>half, L.vis&(1<<half-1)
	R.next, L.next = L.next, r
	R.parent = L.parent
	for _, it := range R.items[:R.n] {
		l.n.at(it).leaf = r
	}
	// Count R's slots under the new leaf, then take them off the old one.
	moved := int32(bits.OnesCount64(R.vis))
	l.insertChild(L.parent, lf, r, moved)
	L = &l.leaves[lf]
	l.addUp(L.parent, L.at, -moved)
	return r
}

// insertChild puts child c with count cnt right after child after of inner
// node p, splitting p (and its ancestors) when full, and adds cnt to the
// counts above.
func (l *List) insertChild(p, after, c, cnt int32) {
	if l.inners[p].n == innerCap {
		q := l.splitInner(p)
		if !l.inners[p].has(after) {
			p = q
		}
	}
	in := &l.inners[p]
	i := l.childAt(in.leafKids, after) + 1
	copy(in.kids[i+1:in.n+1], in.kids[i:in.n])
	copy(in.cnts[i+1:in.n+1], in.cnts[i:in.n])
	in.kids[i], in.cnts[i] = c, cnt
	in.n++
	for j := i; j < in.n; j++ {
		l.setParent(in.leafKids, in.kids[j], p, j)
	}
	l.addUp(in.parent, in.at, cnt)
}

// setParent records that child c (a leaf if leafKid) is at position at of
// inner node p's kids.
func (l *List) setParent(leafKid bool, c, p, at int32) {
	if leafKid {
		l.leaves[c].parent, l.leaves[c].at = p, at
	} else {
		l.inners[c].parent, l.inners[c].at = p, at
	}
}

// has reports whether c is a child of in.
func (in *inner) has(c int32) bool {
	return slices.Contains(in.kids[:in.n], c)
}

// splitInner moves the upper half of full inner node p to a new inner node
// after it (growing a new root if p was the root) and returns the new node.
func (l *List) splitInner(p int32) int32 {
	q := int32(len(l.inners))
	l.inners = append(l.inners, inner{})
	P, Q := &l.inners[p], &l.inners[q]
	const half = innerCap / 2
	copy(Q.kids[:], P.kids[half:])
	copy(Q.cnts[:], P.cnts[half:])
	Q.n, P.n = half, half
	Q.leafKids, Q.parent = P.leafKids, P.parent
	for j, k := range Q.kids[:Q.n] {
		l.setParent(Q.leafKids, k, q, int32(j))
	}
	moved := Q.sum()
	if P.parent == 0 {
		root := int32(len(l.inners))
		l.inners = append(l.inners, inner{n: 2})
		P, Q = &l.inners[p], &l.inners[q]
		R := &l.inners[root]
		R.kids[0], R.kids[1] = p, q
		R.cnts[0], R.cnts[1] = P.sum(), moved
		P.parent, Q.parent = root, root
		P.at, Q.at = 0, 1
		l.root = root
		return q
	}
	l.insertChild(P.parent, p, q, moved)
	P = &l.inners[p]
	l.addUp(P.parent, P.at, -moved)
	return q
}

// buildOrder lays out the order tree over order (list order, head first);
// each slot's vis must be set.
func (l *List) buildOrder(order []int32) {
	nleaves := (len(order) + fillLeaf - 1) / fillLeaf
	l.leaves = make([]leaf, 1, nleaves+1)
	level := make([]int32, 0, nleaves)
	for start := 0; start < len(order); start += fillLeaf {
		chunk := order[start:min(start+fillLeaf, len(order))]
		lf := int32(len(l.leaves))
		l.leaves = append(l.leaves, leaf{n: int32(len(chunk))})
		L := &l.leaves[lf]
		copy(L.items[:], chunk)
		for i, x := range chunk {
			l.n.at(x).leaf = lf
			if l.n.at(x).vis {
				L.vis |= 1 << i
				l.visible++
			}
		}
		if lf > 1 {
			l.leaves[lf-1].next = lf
		}
		level = append(level, lf)
	}
	l.inners = make([]inner, 1, len(level)/fillIn+8)
	leafKids := true
	for {
		var up []int32
		for start := 0; start < len(level); start += fillIn {
			chunk := level[start:min(start+fillIn, len(level))]
			p := int32(len(l.inners))
			l.inners = append(l.inners, inner{n: int32(len(chunk)), leafKids: leafKids})
			in := &l.inners[p]
			copy(in.kids[:], chunk)
			for i, k := range chunk {
				l.setParent(leafKids, k, p, int32(i))
				if leafKids {
					in.cnts[i] = int32(bits.OnesCount64(l.leaves[k].vis))
				} else {
					in.cnts[i] = l.inners[k].sum()
				}
			}
			up = append(up, p)
		}
		leafKids = false
		if len(up) == 1 {
			l.root = up[0]
			return
		}
		level = up
	}
}
