package seq

import "slices"

// nodeStore holds a list's nodes in pages of nodePage: the first page
// grows by doubling up to a full page (a small list stays small), later
// pages are made full. A growing list so copies at most one page of
// nodes, and never makes one large allocation, whose fresh memory the
// kernel faults in page by page (the doubling slice this replaces spent
// about a fifth of a W4 insert there). Only a first-page node moves, when
// add grows that page.
type nodeStore struct {
	pages [][]node
	len   int32 // nodes in use, from index 0
}

const (
	nodePageBits = 8
	nodePage     = 1 << nodePageBits // nodes per page: 256 x 40 bytes
)

// newNodeStore returns a store of n zero nodes with room for want.
func newNodeStore(n, want int32) nodeStore {
	s := nodeStore{len: n}
	for left := max(n, want); left > 0 || len(s.pages) == 0; left -= nodePage {
		size := min(left, nodePage)
		k := int32(len(s.pages)) * nodePage
		s.pages = append(s.pages, make([]node, min(max(n-k, 0), size), size))
	}
	return s
}

// at returns node x; x < len.
func (s *nodeStore) at(x int32) *node {
	return &s.pages[x>>nodePageBits][x&(nodePage-1)]
}

// add appends a zero node and returns its index.
func (s *nodeStore) add() int32 {
	x := s.len
	p := int(x >> nodePageBits)
	if p == len(s.pages) {
		s.pages = append(s.pages, make([]node, 0, nodePage))
	}
	pg := &s.pages[p]
	if len(*pg) == cap(*pg) {
		*pg = slices.Grow(*pg, min(len(*pg), nodePage-len(*pg)))
	}
	*pg = append(*pg, node{})
	s.len++
	return x
}

// clone returns a deep copy of s.
func (s *nodeStore) clone() nodeStore {
	c := nodeStore{pages: make([][]node, len(s.pages)), len: s.len}
	for i, pg := range s.pages {
		c.pages[i] = slices.Clone(pg)
	}
	return c
}
