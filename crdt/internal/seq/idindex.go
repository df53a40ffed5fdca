package seq

import (
	"cmp"
	"maps"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// idIndex maps slot ids to node indexes. A replica's seqs are dense (one
// counter per replica, shared with its other operations), so ids are grouped
// in pages of pageSize consecutive seqs: one hash lookup per page, none at all
// for the page used last, which is where a replica's next insert usually
// falls.
type idIndex struct {
	pages    map[pageKey]*idPage
	lastKey  pageKey
	lastPage *idPage
	n        int
	spare    []idPage // preallocated pages, handed out by set
}

const pageBits = 5
const pageSize = 1 << pageBits

type pageKey struct {
	replica clock.ReplicaID
	hi      uint64 // seq >> pageBits
}

type idPage [pageSize]int32 // node index by seq % pageSize; 0 = absent

func newIDIndex(capacity int) idIndex {
	return idIndex{pages: make(map[pageKey]*idPage, capacity/pageSize+1)}
}

func (x *idIndex) page(id ID) *idPage {
	k := pageKey{id.Replica, id.Seq >> pageBits}
	if k == x.lastKey && x.lastPage != nil {
		return x.lastPage
	}
	p := x.pages[k]
	if p != nil {
		x.lastKey, x.lastPage = k, p
	}
	return p
}

// get returns the node index of id, or 0.
func (x *idIndex) get(id ID) int32 {
	p := x.page(id)
	if p == nil {
		return 0
	}
	return p[id.Seq%pageSize]
}

// set records id at node index v (not 0); id must be new.
func (x *idIndex) set(id ID, v int32) {
	p := x.page(id)
	if p == nil {
		if len(x.spare) == 0 {
			x.spare = make([]idPage, min(max(8, len(x.pages)/2), 1024))
		}
		p = &x.spare[0]
		x.spare = x.spare[1:]
		k := pageKey{id.Replica, id.Seq >> pageBits}
		x.pages[k] = p
		x.lastKey, x.lastPage = k, p
	}
	p[id.Seq%pageSize] = v
	x.n++
}

// sorted appends every recorded node index to dst in ascending id order.
func (x *idIndex) sorted(dst []int32) []int32 {
	keys := slices.SortedFunc(maps.Keys(x.pages), func(a, b pageKey) int {
		if c := cmp.Compare(a.replica, b.replica); c != 0 {
			return c
		}
		return cmp.Compare(a.hi, b.hi)
	})
	for _, k := range keys {
		for _, v := range x.pages[k] {
			if v != 0 {
				dst = append(dst, v)
			}
		}
	}
	return dst
}

func (x *idIndex) clone() idIndex {
	c := idIndex{pages: maps.Clone(x.pages), n: x.n}
	spare := make([]idPage, len(c.pages))
	i := 0
	for k, p := range c.pages {
		spare[i] = *p
		c.pages[k] = &spare[i]
		i++
	}
	return c
}
