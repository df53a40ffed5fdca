package seq

// This file holds the order-statistic tree: a treap over every slot in list
// order (the head sentinel first), each node counting the visible slots in its
// subtree. Priorities are a hash of the slot id, so the shape depends only on
// the set of slots, not on the order they arrived in. The head has the highest
// priority and is therefore always the root.
//
// Nodes live in one slice and link to each other by index (no pointers: the
// garbage collector never scans them and appends copy them without write
// barriers). Index 0 is a nil sentinel whose count stays 0; index 1 is the
// head.

import "math"

// node is one slot: its place in the treap (list order) and in the Fugue tree.
type node struct {
	id ID

	// Treap over list order.
	left, right, up int32
	cnt             int32 // visible slots in this treap subtree
	prio            uint32

	// Fugue tree: parent, side under it (sideLeft/sideRight), the first child
	// on each side and the next sibling on the same side, ascending by id.
	parent int32
	kids   [2]int32
	sib    int32
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

const headPrio = math.MaxUint32

// prioOf hashes an id (splitmix64 finaliser) into a treap priority below headPrio.
func prioOf(id ID) uint32 {
	z := uint64(id.Replica)*0x9e3779b97f4a7c15 ^ id.Seq
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	p := uint32(z >> 32)
	if p == headPrio {
		p--
	}
	return p
}

func b2i(v bool) int32 {
	if v {
		return 1
	}
	return 0
}

// linkAfter puts the fresh leaf x right after a in list order.
func (l *List) linkAfter(a, x int32) {
	ns := l.n
	if c := ns[a].right; c == nilNode {
		ns[a].right = x
		ns[x].up = a
	} else {
		for ns[c].left != nilNode {
			c = ns[c].left
		}
		ns[c].left = x
		ns[x].up = c
	}
	l.settle(x)
}

// linkBefore puts the fresh leaf x right before b in list order.
func (l *List) linkBefore(b, x int32) {
	ns := l.n
	if c := ns[b].left; c == nilNode {
		ns[b].left = x
		ns[x].up = b
	} else {
		for ns[c].right != nilNode {
			c = ns[c].right
		}
		ns[c].right = x
		ns[x].up = c
	}
	l.settle(x)
}

// settle counts the freshly attached leaf x in its ancestors and rotates it up
// to restore the heap order of priorities.
func (l *List) settle(x int32) {
	ns := l.n
	ns[x].cnt = b2i(ns[x].vis)
	if ns[x].cnt != 0 {
		for p := ns[x].up; p != nilNode; p = ns[p].up {
			ns[p].cnt++
		}
	}
	for {
		p := ns[x].up
		if p == nilNode || ns[p].prio >= ns[x].prio {
			return
		}
		l.rotateUp(x)
	}
}

// rotateUp lifts x above its treap parent, keeping list order and counts.
func (l *List) rotateUp(x int32) {
	ns := l.n
	p := ns[x].up
	g := ns[p].up
	if ns[p].left == x {
		c := ns[x].right
		ns[p].left = c
		if c != nilNode {
			ns[c].up = p
		}
		ns[x].right = p
	} else {
		c := ns[x].left
		ns[p].right = c
		if c != nilNode {
			ns[c].up = p
		}
		ns[x].left = p
	}
	ns[p].up = x
	ns[x].up = g
	if g != nilNode {
		if ns[g].left == p {
			ns[g].left = x
		} else {
			ns[g].right = x
		}
	}
	ns[x].cnt = ns[p].cnt
	ns[p].cnt = ns[ns[p].left].cnt + ns[ns[p].right].cnt + b2i(ns[p].vis)
}

// rank returns the number of visible slots before x.
func (l *List) rank(x int32) int {
	ns := l.n
	r := ns[ns[x].left].cnt
	for n := x; ns[n].up != nilNode; {
		u := ns[n].up
		if ns[u].right == n {
			r += ns[ns[u].left].cnt + b2i(ns[u].vis)
		}
		n = u
	}
	return int(r)
}

// visibleAt returns the visible slot at index i; 0 <= i < Len().
func (l *List) visibleAt(i int32) int32 {
	ns := l.n
	n := headNode
	for {
		lc := ns[ns[n].left].cnt
		if i < lc {
			n = ns[n].left
			continue
		}
		i -= lc
		if ns[n].vis {
			if i == 0 {
				return n
			}
			i--
		}
		n = ns[n].right
	}
}

// next returns the slot after x in list order (visible or not), or nilNode.
func (l *List) next(x int32) int32 {
	ns := l.n
	if c := ns[x].right; c != nilNode {
		for ns[c].left != nilNode {
			c = ns[c].left
		}
		return c
	}
	for ns[x].up != nilNode && ns[ns[x].up].right == x {
		x = ns[x].up
	}
	return ns[x].up
}

// addVisible adds d to the counts of x and its ancestors.
func (l *List) addVisible(x int32, d int32) {
	ns := l.n
	for n := x; n != nilNode; n = ns[n].up {
		ns[n].cnt += d
	}
}

// buildTreap links the slots of order (list order, head first) into a treap
// in O(n). Each node's vis must be set; its treap fields are overwritten.
func (l *List) buildTreap(order []int32) {
	ns := l.n
	stack := make([]int32, 0, 64)
	fix := func(n int32) { ns[n].cnt = ns[ns[n].left].cnt + ns[ns[n].right].cnt + b2i(ns[n].vis) }
	for _, x := range order {
		ns[x].left, ns[x].right, ns[x].up = nilNode, nilNode, nilNode
		last := nilNode
		for len(stack) > 0 && ns[stack[len(stack)-1]].prio < ns[x].prio {
			last = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			fix(last)
		}
		if last != nilNode {
			ns[x].left = last
			ns[last].up = x
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			ns[top].right = x
			ns[x].up = top
		}
		stack = append(stack, x)
	}
	for i := len(stack) - 1; i >= 0; i-- {
		fix(stack[i])
	}
}
