package crdt

import (
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// compactElems holds a list's compact elements by handle (seq.Handle of
// the element's insert slot): elements inserted by a local change with a
// scalar value into a shown list, which nothing has looked at since. Such
// an element's register would hold one entry (the insert: the element's
// id, the change's timestamp, the value) and show that value, so the
// timestamp and the value are all it needs: 32 bytes where a register
// takes 192 (W4 inserts 10,000 of them, and their registers were a third
// of its memory). The register is made, exactly as Doc.insert would have
// made it, the first time anything asks for the element: listState.elem
// (and so elemAt) and all make it, and those are the only ways to an
// element's register, so no code sees a compact element.
//
// The value it shows stays right until then: what an element shows
// changes only through its register (a write, a delete, a move), or
// through its list being hidden or shown again, which walks the list's
// registers (unshow by all, render by elemAt).
type compactElems struct {
	pages [][]compactElem // by handle, as elemIndex
	n     int             // compact elements
}

// compactElem is one compact element: the timestamp of its insert, as
// Wall<<16 | Logical (its Replica is the element's), and its value
// (Invalid where the handle has none): 32 bytes.
type compactElem struct {
	wl uint64
	v  draft.Value
}

// packable reports whether ts, the timestamp of element id's insert, fits
// a compactElem: it is id's replica's (a local insert's always is) and
// valid (clock issues no other).
func packable(id OpID, ts clock.Timestamp) bool {
	return ts.Replica == id.Replica && ts.Wall >= 0 && ts.Wall <= clock.MaxWall
}

// at returns the compact element at handle h, or nil.
func (c *compactElems) at(h seq.Handle) *compactElem {
	p, i := int(h>>elemPageBits), int(h&(elemPage-1))
	if p >= len(c.pages) || i >= len(c.pages[p]) || !c.pages[p][i].v.IsValid() {
		return nil
	}
	return &c.pages[p][i]
}

// addCompact records element id (a local insert of scalar v stamped ts,
// see Doc.compactable; ts is packable) as a compact element; room is the
// slab its register will come from.
func (l *listState) addCompact(id OpID, ts clock.Timestamp, v draft.Value, room *slabOf[slot]) {
	h := l.seq.Handle(id)
	if h == 0 {
		panic("crdt: broken invariant: a list element without its insert's slot")
	}
	if l.room == nil {
		l.room = room
	}
	*pageItem(&l.compact.pages, h) = compactElem{wl: uint64(ts.Wall)<<16 | uint64(ts.Logical), v: v}
	l.compact.n++
}

// expand makes the register of compact element e (handle h), as Doc.insert
// makes a local insert's, and returns it; nil if e is not one.
func (l *listState) expand(h seq.Handle, e OpID) *slot {
	c := l.compact.at(h)
	if c == nil {
		return nil
	}
	s := l.room.next(elemSlab)
	l.room.take()
	s.owner, s.elem, s.pos = l.node, e, e
	if k := c.v.Kind(); k == draft.IntKind || k == draft.FloatKind {
		s.strat = l.elemStrat // Doc.insert looked the strategy up (compactable did)
	}
	ts := clock.Timestamp{Wall: int64(c.wl >> 16), Logical: uint16(c.wl), Replica: e.Replica}
	s.addEntry(entry{id: e, ts: ts, val: c.v})
	s.show(visScalar, c.v)
	*c = compactElem{}
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
			if !pg[i].v.IsValid() {
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
