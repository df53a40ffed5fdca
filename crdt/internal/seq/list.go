package seq

import (
	"fmt"
	"iter"
)

// Origins tell a replica where a remotely created slot goes: its parent in the
// Fugue tree and the side it hangs on. Exactly one of the fields is set, or
// neither:
//
//   - Left set: the slot is a right child of Left (it was inserted right after
//     Left, which then had no right children).
//   - Right set: the slot is a left child of Right (it was inserted after a
//     slot whose right subtree already existed, right before Right, the first
//     slot of that subtree).
//   - neither set: the slot is a right child of the list head.
//
// These are Fugue's left and right origins reduced to the one the tree needs;
// every set field names a slot that must be present before Integrate.
// Origins is a plain value and safe for concurrent use.
type Origins struct {
	Left, Right ID
}

// List is one replica's copy of one list: every slot ever inserted (visible or
// tombstoned) in Fugue order, with O(log n) maps between visible indexes and
// slot ids.
//
// A List is NOT safe for concurrent use: every method, including the reading
// ones, must be serialised by the caller.
type List struct {
	head  *node // sentinel (zero ID, never visible): root of both trees, first in order
	ids   map[ID]*node
	slots int    // slots excluding the head
	free  []node // preallocated nodes, handed out by alloc
}

// New returns an empty list.
func New() *List {
	l := &List{ids: make(map[ID]*node)}
	l.head = &node{prio: headPrio}
	return l
}

const chunkNodes = 256

// alloc returns a fresh node for id and records it.
func (l *List) alloc(id ID) *node {
	if len(l.free) == 0 {
		l.free = make([]node, chunkNodes)
	}
	x := &l.free[0]
	l.free = l.free[1:]
	l.slots++
	*x = node{id: id, prio: prioOf(id), idx: int32(l.slots), vis: true}
	l.ids[id] = x
	return x
}

// Len returns the number of visible slots.
func (l *List) Len() int { return int(l.head.cnt) }

// Slots returns the number of slots, tombstones included.
func (l *List) Slots() int { return l.slots }

// InsertAt inserts the new slot id, visible, so that it lands at visible index
// index (0..Len()). It returns the origins to send with the insert so that
// other replicas place it with Integrate.
func (l *List) InsertAt(index int, id ID) (Origins, error) {
	if id.IsZero() {
		return Origins{}, ErrZeroID
	}
	if index < 0 || index > l.Len() {
		return Origins{}, fmt.Errorf("%w: insert at %d, length %d", ErrIndex, index, l.Len())
	}
	if _, dup := l.ids[id]; dup {
		return Origins{}, fmt.Errorf("%w: %v", ErrDuplicate, id)
	}
	left := l.head
	if index > 0 {
		left = visibleAt(l.head, int32(index-1))
	}
	x := l.alloc(id)
	if left.kids[sideRight] == nil {
		// Fugue: no right children yet, so become the first one.
		x.parent, x.side = left, sideRight
		left.kids[sideRight] = x
		l.linkAfter(left, x)
		return Origins{Left: left.id}, nil
	}
	// Otherwise become a left child of the next slot in order (the right
	// origin), the leftmost slot of left's right subtree.
	right := next(left)
	if right == nil || right.kids[sideLeft] != nil {
		panic("seq: broken invariant: right origin is not the leftmost slot of a subtree")
	}
	x.parent, x.side = right, sideLeft
	right.kids[sideLeft] = x
	l.linkBefore(right, x)
	return Origins{Right: right.id}, nil
}

// Integrate inserts the slot id, visible, created on another replica with
// origins o. The result is the same on every replica whatever the delivery
// order. Integrating a known id changes nothing and returns its index with
// ErrDuplicate. The origin must be present: otherwise it returns a
// *MissingOriginError (errors.Is ErrMissingOrigin) and changes nothing. It
// returns the visible index the slot lands at.
func (l *List) Integrate(id ID, o Origins) (index int, err error) {
	if id.IsZero() {
		return 0, ErrZeroID
	}
	if x, dup := l.ids[id]; dup {
		return rank(x), fmt.Errorf("%w: %v", ErrDuplicate, id)
	}
	parent, side := l.head, uint8(sideRight)
	switch {
	case !o.Left.IsZero() && !o.Right.IsZero():
		return 0, fmt.Errorf("%w: slot %v has both origins %v and %v", ErrInvalidOrigins, id, o.Left, o.Right)
	case !o.Left.IsZero():
		parent = l.ids[o.Left]
		if parent == nil {
			return 0, &MissingOriginError{Slot: id, Origin: o.Left}
		}
	case !o.Right.IsZero():
		parent, side = l.ids[o.Right], sideLeft
		if parent == nil {
			return 0, &MissingOriginError{Slot: id, Origin: o.Right}
		}
	}
	x := l.alloc(id)
	x.parent, x.side = parent, side
	l.place(x)
	return rank(x), nil
}

// place links x, whose Fugue parent and side are set, among its siblings
// (ascending id) and at its position in list order: the subtrees of siblings
// are contiguous, so x goes right after its preceding sibling's subtree or
// right before its following sibling's subtree.
func (l *List) place(x *node) {
	p, s := x.parent, x.side
	var prev *node
	nxt := p.kids[s]
	for nxt != nil && nxt.id.Compare(x.id) < 0 {
		prev, nxt = nxt, nxt.sib
	}
	x.sib = nxt
	if prev == nil {
		p.kids[s] = x
	} else {
		prev.sib = x
	}
	switch {
	case s == sideRight && prev == nil:
		l.linkAfter(p, x)
		return
	case s == sideLeft && nxt == nil:
		l.linkBefore(p, x)
		return
	}
	// Find the end of prev's subtree or the start of nxt's, whichever walk is
	// shorter (both give the same position), stepping both in turn.
	a, b := prev, nxt
	for {
		if b != nil {
			if b.kids[sideLeft] == nil {
				l.linkBefore(b, x)
				return
			}
			b = b.kids[sideLeft]
		}
		if a != nil {
			last := a.kids[sideRight]
			if last == nil {
				l.linkAfter(a, x)
				return
			}
			for last.sib != nil {
				last = last.sib
			}
			a = last
		}
	}
}

// SetVisible makes slot id visible or hides it (a tombstone stays in order).
// It returns the slot's visible index (where it is, or would be if visible)
// and whether the visibility changed.
func (l *List) SetVisible(id ID, visible bool) (index int, changed bool, err error) {
	x := l.ids[id]
	if x == nil {
		if id.IsZero() {
			return 0, false, ErrZeroID
		}
		return 0, false, fmt.Errorf("%w: %v", ErrNotFound, id)
	}
	if x.vis != visible {
		x.vis = visible
		if visible {
			addVisible(x, 1)
		} else {
			addVisible(x, -1)
		}
		changed = true
	}
	return rank(x), changed, nil
}

// IndexOf returns the visible index of slot id — for a tombstone, the index a
// slot inserted in its place would have — whether it is visible, and whether
// the id is known at all.
func (l *List) IndexOf(id ID) (index int, visible bool, ok bool) {
	x := l.ids[id]
	if x == nil {
		return 0, false, false
	}
	return rank(x), x.vis, true
}

// Has reports whether slot id is in the list (visible or not).
func (l *List) Has(id ID) bool { return l.ids[id] != nil }

// At returns the id of the visible slot at index.
func (l *List) At(index int) (ID, error) {
	if index < 0 || index >= l.Len() {
		return ID{}, fmt.Errorf("%w: index %d, length %d", ErrIndex, index, l.Len())
	}
	return visibleAt(l.head, int32(index)).id, nil
}

// All yields every slot in list order with its visibility.
func (l *List) All() iter.Seq2[ID, bool] {
	return func(yield func(ID, bool) bool) {
		for n := next(l.head); n != nil; n = next(n) {
			if !yield(n.id, n.vis) {
				return
			}
		}
	}
}

// Clone returns a deep copy of l; the two share nothing.
func (l *List) Clone() *List {
	nodes := make([]node, l.slots+1)
	at := func(n *node) *node {
		if n == nil {
			return nil
		}
		return &nodes[n.idx]
	}
	c := &List{ids: make(map[ID]*node, l.slots), slots: l.slots}
	copyNode := func(n *node) {
		y := &nodes[n.idx]
		*y = *n
		y.left, y.right, y.up = at(n.left), at(n.right), at(n.up)
		y.parent, y.sib = at(n.parent), at(n.sib)
		y.kids = [2]*node{at(n.kids[0]), at(n.kids[1])}
	}
	copyNode(l.head)
	c.head = &nodes[0]
	for id, n := range l.ids {
		copyNode(n)
		c.ids[id] = &nodes[n.idx]
	}
	return c
}
