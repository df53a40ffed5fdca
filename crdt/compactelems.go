package crdt

import (
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// compactElems holds a list's compact elements by handle (seq.Handle of
// the element's insert slot): elements inserted by a local change with a
// scalar value into a shown list, which nothing has looked at since. Such
// an element's register would hold one entry (the insert: the element's
// id, the change's timestamp, the op's value) and show that value, and
// the change that made it has all of that: a compact element is a
// pointer to it, 8 bytes where a register takes 192 (W4 inserts 10,000 of
// them, and their registers were a third of its memory). A Change is
// immutable once made, so it says the same when the register is made,
// which is exactly as Doc.insert would have made it, the first time
// anything asks for the element: listState.elem (and so elemAt) and all
// make it, and those are the only ways to an element's register, so no
// code sees a compact element.
//
// The value it shows stays right until then: what an element shows
// changes only through its register (a write, a delete, a move), or
// through its list being hidden or shown again, which walks the list's
// registers (unshow by all, render by elemAt).
//
// A compact element keeps its change alive (and the change its slab of
// ops, localRoom) after the op log has dropped it: about as much memory
// as the register it stands for, until the element is read.
type compactElems struct {
	pages [][]*Change // by handle, as elemIndex; nil where none
	n     int         // compact elements
}

// at returns the change of the compact element at handle h, or nil.
func (c *compactElems) at(h seq.Handle) *Change {
	p, i := int(h>>elemPageBits), int(h&(elemPage-1))
	if p >= len(c.pages) || i >= len(c.pages[p]) {
		return nil
	}
	return c.pages[p][i]
}

// addCompact records element id, inserted by local change c (see
// Doc.compactable), as a compact element; room is the slab its register
// will come from.
func (l *listState) addCompact(id OpID, c *Change, room *slabOf[slot]) {
	h := l.seq.Handle(id)
	if h == 0 {
		panic("crdt: broken invariant: a list element without its insert's slot")
	}
	if l.room == nil {
		l.room = room
	}
	*pageItem(&l.compact.pages, h) = c
	l.compact.n++
}

// expand makes the register of compact element e (handle h), as Doc.insert
// makes a local insert's, and returns it; nil if e is not one.
func (l *listState) expand(h seq.Handle, e OpID) *slot {
	c := l.compact.at(h)
	if c == nil {
		return nil
	}
	k := e.Seq - c.StartSeq
	if e.Replica != c.Replica || k >= uint64(len(c.Ops)) || c.Ops[k].Kind != OpInsert {
		panic("crdt: broken invariant: a compact element's change does not hold its insert")
	}
	v := c.Ops[k].Value
	s := l.room.next(elemSlab)
	l.room.take()
	s.owner, s.elem, s.pos = l.node, e, e
	if k := v.Kind(); k == draft.IntKind || k == draft.FloatKind {
		s.strat = l.elemStrat // Doc.insert looked the strategy up (compactable did)
	}
	s.addEntry(entry{id: e, ts: c.Timestamp, val: v})
	s.show(visScalar, v)
	l.compact.pages[h>>elemPageBits][h&(elemPage-1)] = nil
	if l.compact.n--; l.compact.n == 0 {
		l.compact.pages = nil
	}
	l.elems.set(h, s)
	return s
}

// expandAll makes the registers of all compact elements.
func (l *listState) expandAll() {
	for p := 0; l.compact.n > 0 && p < len(l.compact.pages); p++ {
		pg := l.compact.pages[p]
		for i := range pg {
			if pg[i] == nil {
				continue
			}
			h := seq.Handle(p<<elemPageBits | i)
			e, ok := l.seq.IDOf(h)
			if !ok {
				panic("crdt: broken invariant: a compact element without its insert's slot")
			}
			l.expand(h, e)
			if l.compact.n == 0 {
				return // expand dropped the pages
			}
		}
	}
}
