package seq

// This file holds the order-statistic tree: a treap over every slot in list
// order (the head sentinel first), each node counting the visible slots in its
// subtree. Priorities are a hash of the slot id, so the shape depends only on
// the set of slots, not on the order they arrived in. The head has the highest
// priority and is therefore always the root.

import "math"

// node is one slot: its place in the treap (list order) and in the Fugue tree.
type node struct {
	id ID

	// Treap over list order.
	left, right, up *node
	cnt             int32 // visible slots in this treap subtree
	prio            uint32

	// Fugue tree: parent, side under it (sideLeft/sideRight), the first child
	// on each side and the next sibling on the same side, ascending by id.
	parent *node
	kids   [2]*node
	sib    *node

	idx  int32 // creation index, dense from 0 (the head); used by Clone and encoding
	side uint8
	vis  bool
}

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

func count(n *node) int32 {
	if n == nil {
		return 0
	}
	return n.cnt
}

func b2i(v bool) int32 {
	if v {
		return 1
	}
	return 0
}

// linkAfter puts the fresh leaf x right after a in list order.
func (l *List) linkAfter(a, x *node) {
	if a.right == nil {
		a.right = x
		x.up = a
	} else {
		n := a.right
		for n.left != nil {
			n = n.left
		}
		n.left = x
		x.up = n
	}
	l.settle(x)
}

// linkBefore puts the fresh leaf x right before b in list order.
func (l *List) linkBefore(b, x *node) {
	if b.left == nil {
		b.left = x
		x.up = b
	} else {
		n := b.left
		for n.right != nil {
			n = n.right
		}
		n.right = x
		x.up = n
	}
	l.settle(x)
}

// settle counts the freshly attached leaf x in its ancestors and rotates it up
// to restore the heap order of priorities.
func (l *List) settle(x *node) {
	x.cnt = b2i(x.vis)
	if x.cnt != 0 {
		for p := x.up; p != nil; p = p.up {
			p.cnt++
		}
	}
	for x.up != nil && x.up.prio < x.prio {
		rotateUp(x)
	}
}

// rotateUp lifts x above its treap parent, keeping list order and counts.
func rotateUp(x *node) {
	p := x.up
	g := p.up
	if p.left == x {
		p.left = x.right
		if x.right != nil {
			x.right.up = p
		}
		x.right = p
	} else {
		p.right = x.left
		if x.left != nil {
			x.left.up = p
		}
		x.left = p
	}
	p.up = x
	x.up = g
	if g != nil {
		if g.left == p {
			g.left = x
		} else {
			g.right = x
		}
	}
	x.cnt = p.cnt
	p.cnt = count(p.left) + count(p.right) + b2i(p.vis)
}

// rank returns the number of visible slots before x.
func rank(x *node) int {
	r := count(x.left)
	for n := x; n.up != nil; n = n.up {
		if n.up.right == n {
			r += count(n.up.left) + b2i(n.up.vis)
		}
	}
	return int(r)
}

// visibleAt returns the visible slot at index i; 0 <= i < root.cnt.
func visibleAt(root *node, i int32) *node {
	n := root
	for {
		lc := count(n.left)
		if i < lc {
			n = n.left
			continue
		}
		i -= lc
		if n.vis {
			if i == 0 {
				return n
			}
			i--
		}
		n = n.right
	}
}

// next returns the slot after x in list order (visible or not), or nil.
func next(x *node) *node {
	if x.right != nil {
		n := x.right
		for n.left != nil {
			n = n.left
		}
		return n
	}
	for x.up != nil && x.up.right == x {
		x = x.up
	}
	return x.up
}

// addVisible adds d to the counts of x and its ancestors.
func addVisible(x *node, d int32) {
	for n := x; n != nil; n = n.up {
		n.cnt += d
	}
}

// buildTreap links the slots of order (list order, head first) into a treap
// in O(n) and returns its root. Each node's vis must be set; its treap fields
// are overwritten.
func buildTreap(order []*node) *node {
	stack := make([]*node, 0, 64)
	for _, x := range order {
		x.left, x.right, x.up = nil, nil, nil
		var last *node
		for len(stack) > 0 && stack[len(stack)-1].prio < x.prio {
			last = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			last.cnt = count(last.left) + count(last.right) + b2i(last.vis)
		}
		if last != nil {
			x.left = last
			last.up = x
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			top.right = x
			x.up = top
		}
		stack = append(stack, x)
	}
	for i := len(stack) - 1; i >= 0; i-- {
		n := stack[i]
		n.cnt = count(n.left) + count(n.right) + b2i(n.vis)
	}
	return stack[0]
}
