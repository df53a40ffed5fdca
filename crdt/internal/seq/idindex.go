package seq

import (
	"cmp"
	"iter"
	"maps"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// IDMap maps slot ids to values of V, the zero V meaning "absent". A
// replica's seqs are dense (one counter per replica, shared with its other
// operations), so ids are grouped in pages of pageSize consecutive seqs:
// one hash lookup per page, none at all for the page used last, which is
// where a replica's next insert usually falls. List keeps its id -> node
// index in one; package crdt can keep a list's id -> element register in
// another, for the same reason (a Go map hashes every id and rehashes as
// it grows).
//
// The zero IDMap is not ready: use NewIDMap. An IDMap is NOT safe for
// concurrent use.
type IDMap[V comparable] struct {
	pages    map[pageKey]*[pageSize]V
	lastKey  pageKey
	lastPage *[pageSize]V
	n        int
	spare    [][pageSize]V // preallocated pages, handed out by Set
}

const pageBits = 5
const pageSize = 1 << pageBits

type pageKey struct {
	replica clock.ReplicaID
	hi      uint64 // seq >> pageBits
}

// NewIDMap returns an empty map sized for about capacity dense ids.
func NewIDMap[V comparable](capacity int) IDMap[V] {
	return IDMap[V]{pages: make(map[pageKey]*[pageSize]V, capacity/pageSize+1)}
}

func (x *IDMap[V]) page(id ID) *[pageSize]V {
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

// Get returns the value of id, or the zero V.
func (x *IDMap[V]) Get(id ID) V {
	p := x.page(id)
	if p == nil {
		var zero V
		return zero
	}
	return p[id.Seq%pageSize]
}

// Set records v (not the zero V) for id, replacing any value it had.
func (x *IDMap[V]) Set(id ID, v V) {
	p := x.page(id)
	if p == nil {
		if len(x.spare) == 0 {
			x.spare = make([][pageSize]V, min(max(8, len(x.pages)/2), 1024))
		}
		p = &x.spare[0]
		x.spare = x.spare[1:]
		k := pageKey{id.Replica, id.Seq >> pageBits}
		x.pages[k] = p
		x.lastKey, x.lastPage = k, p
	}
	var zero V
	if p[id.Seq%pageSize] == zero {
		x.n++
	}
	p[id.Seq%pageSize] = v
}

// Len returns the number of ids with a value.
func (x *IDMap[V]) Len() int { return x.n }

// All yields every id with its value in ascending id order. The map must
// not be changed during the iteration.
func (x *IDMap[V]) All() iter.Seq2[ID, V] {
	return func(yield func(ID, V) bool) {
		var zero V
		for _, k := range x.sortedKeys() {
			for i, v := range x.pages[k] {
				if v != zero && !yield(ID{Replica: k.replica, Seq: k.hi<<pageBits | uint64(i)}, v) {
					return
				}
			}
		}
	}
}

// appendValues appends every value to dst in ascending id order.
func (x *IDMap[V]) appendValues(dst []V) []V {
	var zero V
	for _, k := range x.sortedKeys() {
		for _, v := range x.pages[k] {
			if v != zero {
				dst = append(dst, v)
			}
		}
	}
	return dst
}

func (x *IDMap[V]) sortedKeys() []pageKey {
	return slices.SortedFunc(maps.Keys(x.pages), func(a, b pageKey) int {
		if c := cmp.Compare(a.replica, b.replica); c != 0 {
			return c
		}
		return cmp.Compare(a.hi, b.hi)
	})
}

// Clone returns a copy of x sharing nothing with it (the values are
// copied as they are).
func (x *IDMap[V]) Clone() IDMap[V] {
	c := IDMap[V]{pages: maps.Clone(x.pages), n: x.n}
	spare := make([][pageSize]V, len(c.pages))
	i := 0
	for k, p := range c.pages {
		spare[i] = *p
		c.pages[k] = &spare[i]
		i++
	}
	return c
}
