// Package seq is the sequence CRDT behind the lists of package crdt: the
// order of list slots, each with a globally unique identity, under concurrent
// inserts from many replicas. It implements Fugue (Weidner and Kleppmann, "The
// Art of the Fugue", 2023) in its tree form.
//
// A slot is created by one insert and named by that insert's [ID]. Slots are
// never removed: a deleted slot stays as a tombstone (SetVisible(id, false))
// so that later inserts next to it still find their origins. Package crdt
// decides what is visible; seq keeps where each slot is and maps visible
// indexes to ids and back.
//
// # Algorithm
//
// The slots form a tree rooted at a head sentinel (the zero ID). Every slot is
// a left or a right child of its parent; the list order is the in-order walk:
// a node's left children (each with its subtree, ascending by ID), the node,
// then its right children (each with its subtree, ascending by ID). A local
// insert at visible index i takes the visible slot before i as left origin
// (the head for i == 0): if the left origin has no right child yet, the new
// slot becomes its right child; otherwise the new slot becomes a left child of
// the right origin, the slot right after the left origin in order
// (tombstones included), which is then the first slot of the left origin's
// right subtree and has no left children. [Origins] carry only that parent
// and its side, which is all the tree needs.
//
// Because each subtree is contiguous in the order, what one replica types in
// one go stays together: a forward run is a chain of right children, a
// backward run (every insert at the same index) a chain of left children, and
// concurrent runs at one place hang as siblings under the same parent. So
// runs are never interleaved, forward or backward, and concurrent inserts at
// one position are ordered by ID on every replica. Sibling order is by ID on
// both sides: this is basic Fugue, not FugueMax, which also takes right
// origins into account when ordering right siblings and is the variant the
// paper proves maximally non-interleaving (it would need the right origin in
// every op).
//
// # Invariants
//
//   - Every slot except the head has exactly one parent, which was present
//     when it was inserted; the tree has no cycles (Decode checks this).
//   - Siblings on one side of a parent are linked in ascending ID order.
//   - The list order is the Fugue in-order walk; it depends only on the set of
//     slots and their parents and sides, never on delivery order, so replicas
//     that integrated the same inserts hold the same order.
//   - The order is also kept in a counted B+tree: leaves of up to 64 slots
//     with a visibility bitmask, inner nodes of up to 32 children with the
//     visible count under each, leaves chained in order, every slot knowing
//     its leaf and every leaf and inner node its position under its parent.
//     Visible index <-> id lookups, inserts and visibility changes are
//     O(log n) (three levels at 100,000 slots). Ids map to slots through
//     pages of 32 consecutive seqs of one replica. Slots live in pages of
//     256 (nodes.go): a growing list copies at most its first page. A
//     slot's node number is its [Handle], dense per list, so a caller can
//     keep per-slot data in pages indexed by it (crdt's element registers).
//   - Local inserts never walk the Fugue tree. Integrate walks it only among
//     concurrent siblings: to the end of the preceding sibling's subtree or
//     the start of the following one's, whichever is reached first.
//   - The encoding is a function of the state: replicas with equal state
//     encode to equal bytes.
//
// # Usage
//
//	l := seq.New()
//	o, _ := l.InsertAt(0, seq.ID{Replica: 1, Seq: 1}) // send (id, o) to peers
//	// on a peer:
//	ix, err := peer.Integrate(seq.ID{Replica: 1, Seq: 1}, o)
//	// errors.Is(err, seq.ErrMissingOrigin): deliver the origin first
//	// errors.Is(err, seq.ErrDuplicate): already there, nothing changed
//	_, _, _ = l.SetVisible(seq.ID{Replica: 1, Seq: 1}, false) // tombstone
//
// Nothing in the package is safe for concurrent use except the value types
// [ID] and [Origins].
package seq
