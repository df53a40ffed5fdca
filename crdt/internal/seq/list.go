package seq

import (
	"fmt"
	"iter"
	"slices"
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
	n       nodeStore    // node 0 is unused ("none"), node 1 the head (zero ID, never visible)
	ids     IDMap[int32] // id -> node index
	leaves  []leaf       // order tree leaves; [0] unused
	inners  []inner      // order tree inner nodes; [0] unused
	root    int32        // root inner node
	visible int
}

// New returns an empty list.
func New() *List {
	l := &List{ids: NewIDMap[int32](0), n: newNodeStore(2, 16)}
	l.initOrder()
	return l
}

// alloc appends a fresh visible node for id, records it and returns its
// index. The caller checked l.full().
func (l *List) alloc(id ID) int32 {
	x := l.n.add()
	nd := l.n.at(x)
	nd.id, nd.vis = id, true
	l.ids.Set(id, x)
	return x
}

// full reports whether the list holds maxSlots slots.
func (l *List) full() bool { return l.Slots() >= maxSlots }

// Len returns the number of visible slots.
func (l *List) Len() int { return l.visible }

// Slots returns the number of slots, tombstones included.
func (l *List) Slots() int { return int(l.n.len) - 2 }

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
	if l.ids.Get(id) != nilNode {
		return Origins{}, fmt.Errorf("%w: %v", ErrDuplicate, id)
	}
	if l.full() {
		return Origins{}, ErrFull
	}
	left, lf, pos := headNode, int32(1), 0 // the head is first in leaf 1
	if index > 0 {
		lf, pos = l.visibleAtPos(int32(index - 1))
		left = l.leaves[lf].items[pos]
	}
	if l.n.at(left).kids[sideRight] == nilNode {
		// Fugue: no right children yet, so become the first one.
		x := l.alloc(id) // may move the first page: take pointers after
		nx, nl := l.n.at(x), l.n.at(left)
		nx.parent, nx.side = left, sideRight
		nl.kids[sideRight] = x
		l.insertInLeaf(lf, pos+1, x)
		return Origins{Left: nl.id}, nil
	}
	// Otherwise become a left child of the next slot in order (the right
	// origin), the leftmost slot of left's right subtree.
	lf, pos = l.nextPos(lf, pos)
	if lf == 0 {
		panic("seq: broken invariant: a slot with right children is last")
	}
	right := l.leaves[lf].items[pos]
	if l.n.at(right).kids[sideLeft] != nilNode {
		panic("seq: broken invariant: right origin is not the leftmost slot of a subtree")
	}
	x := l.alloc(id)
	nx, nr := l.n.at(x), l.n.at(right)
	nx.parent, nx.side = right, sideLeft
	nr.kids[sideLeft] = x
	l.insertInLeaf(lf, pos, x)
	return Origins{Right: nr.id}, nil
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
	if x := l.ids.Get(id); x != nilNode {
		return l.rank(x), fmt.Errorf("%w: %v", ErrDuplicate, id)
	}
	parent, side := headNode, uint8(sideRight)
	switch {
	case !o.Left.IsZero() && !o.Right.IsZero():
		return 0, fmt.Errorf("%w: slot %v has both origins %v and %v", ErrInvalidOrigins, id, o.Left, o.Right)
	case !o.Left.IsZero():
		p := l.ids.Get(o.Left)
		if p == nilNode {
			return 0, &MissingOriginError{Slot: id, Origin: o.Left}
		}
		parent = p
	case !o.Right.IsZero():
		p := l.ids.Get(o.Right)
		if p == nilNode {
			return 0, &MissingOriginError{Slot: id, Origin: o.Right}
		}
		parent, side = p, sideLeft
	}
	if l.full() {
		return 0, ErrFull
	}
	x := l.alloc(id)
	l.n.at(x).parent, l.n.at(x).side = parent, side
	l.place(x)
	return l.rank(x), nil
}

// place links x, whose Fugue parent and side are set, among its siblings
// (ascending id) and at its position in list order: the subtrees of siblings
// are contiguous, so x goes right after its preceding sibling's subtree or
// right before its following sibling's subtree.
func (l *List) place(x int32) {
	ns := &l.n
	p, s := ns.at(x).parent, ns.at(x).side
	prev := nilNode
	nxt := ns.at(p).kids[s]
	for nxt != nilNode && ns.at(nxt).id.Compare(ns.at(x).id) < 0 {
		prev, nxt = nxt, ns.at(nxt).sib
	}
	ns.at(x).sib = nxt
	if prev == nilNode {
		ns.at(p).kids[s] = x
	} else {
		ns.at(prev).sib = x
	}
	switch {
	case s == sideRight && prev == nilNode:
		l.linkAfter(p, x)
		return
	case s == sideLeft && nxt == nilNode:
		l.linkBefore(p, x)
		return
	}
	// Find the end of prev's subtree or the start of nxt's, whichever walk is
	// shorter (both give the same position), stepping both in turn.
	a, b := prev, nxt
	for {
		if b != nilNode {
			if ns.at(b).kids[sideLeft] == nilNode {
				l.linkBefore(b, x)
				return
			}
			b = ns.at(b).kids[sideLeft]
		}
		if a != nilNode {
			last := ns.at(a).kids[sideRight]
			if last == nilNode {
				l.linkAfter(a, x)
				return
			}
			for ns.at(last).sib != nilNode {
				last = ns.at(last).sib
			}
			a = last
		}
	}
}

// SetVisible makes slot id visible or hides it (a tombstone stays in order).
// It returns the slot's visible index (where it is, or would be if visible)
// and whether the visibility changed.
func (l *List) SetVisible(id ID, visible bool) (index int, changed bool, err error) {
	x := l.ids.Get(id)
	if x == nilNode {
		if id.IsZero() {
			return 0, false, ErrZeroID
		}
		return 0, false, fmt.Errorf("%w: %v", ErrNotFound, id)
	}
	changed = l.n.at(x).vis != visible
	return l.rankSet(x, visible), changed, nil
}

// IndexOf returns the visible index of slot id — for a tombstone, the index a
// slot inserted in its place would have — whether it is visible, and whether
// the id is known at all.
func (l *List) IndexOf(id ID) (index int, visible bool, ok bool) {
	x := l.ids.Get(id)
	if x == nilNode {
		return 0, false, false
	}
	return l.rank(x), l.n.at(x).vis, true
}

// Has reports whether slot id is in the list (visible or not).
func (l *List) Has(id ID) bool {
	return l.ids.Get(id) != nilNode
}

// Handle is a slot's small dense number within one List, so that a caller
// can keep per-slot data in a slice instead of a map keyed by ID. Handles
// run from 2 up in the order the slots were added (0 means "no slot"); a
// slot keeps its handle for the life of its List, and a Clone gives every
// slot the same handle, but a decoded list numbers its slots afresh.
type Handle int32

// Handle returns slot id's handle, or 0 if the list has no slot id.
func (l *List) Handle(id ID) Handle { return Handle(l.ids.Get(id)) }

// IDOf returns the id of the slot with handle h (false if the list has no
// such slot).
func (l *List) IDOf(h Handle) (ID, bool) {
	if h < 2 || int32(h) >= l.n.len {
		return ID{}, false
	}
	return l.n.at(int32(h)).id, true
}

// At returns the id of the visible slot at index.
func (l *List) At(index int) (ID, error) {
	if index < 0 || index >= l.Len() {
		return ID{}, fmt.Errorf("%w: index %d, length %d", ErrIndex, index, l.Len())
	}
	return l.n.at(l.visibleAt(int32(index))).id, nil
}

// All yields every slot in list order with its visibility. The list must not
// be changed during the iteration.
func (l *List) All() iter.Seq2[ID, bool] {
	return func(yield func(ID, bool) bool) {
		for lf := int32(1); lf != 0; lf = l.leaves[lf].next {
			L := &l.leaves[lf]
			for i, x := range L.items[:L.n] {
				if x == headNode {
					continue
				}
				if !yield(l.n.at(x).id, L.vis&(1<<i) != 0) {
					return
				}
			}
		}
	}
}

// ByID yields every slot (tombstones included) in ascending id order with
// the origins that place it: those InsertAt returned or Integrate was given
// for it, so integrating them in an order that has every origin first
// rebuilds the list. The list must not be changed during the iteration.
func (l *List) ByID() iter.Seq2[ID, Origins] {
	return func(yield func(ID, Origins) bool) {
		for _, x := range l.ids.appendValues(make([]int32, 0, l.ids.Len())) {
			if !yield(l.n.at(x).id, l.origins(x)) {
				return
			}
		}
	}
}

// origins returns the origins of slot x, from its place in the Fugue tree:
// a right child names its parent as Left (the head's zero id gives the
// empty Origins), a left child names it as Right.
func (l *List) origins(x int32) Origins {
	p := l.n.at(l.n.at(x).parent).id
	if l.n.at(x).side == sideLeft {
		return Origins{Right: p}
	}
	return Origins{Left: p}
}

// Clone returns a deep copy of l; the two share nothing.
func (l *List) Clone() *List {
	return &List{
		n:       l.n.clone(),
		ids:     l.ids.Clone(),
		leaves:  slices.Clone(l.leaves),
		inners:  slices.Clone(l.inners),
		root:    l.root,
		visible: l.visible,
	}
}
