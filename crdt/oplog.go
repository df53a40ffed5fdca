package crdt

import (
	"cmp"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// opLog stores applied changes for anti-entropy. It is an interface so that
// storage (issue 6) can replace the in-memory log.
type opLog interface {
	append(c *Change)
	since(vv VersionVector, maxBytes int) []*Change
}

type memLog struct {
	// authors is every replica ever appended, ascending (some may have no
	// changes left after compaction), with its changes in seq order and the
	// end seq of its newest, so since neither sorts nor touches up-to-date
	// authors' logs, and an append (the last author again, usually) needs
	// no map.
	authors []logAuthor
	last    int // index in authors of the last change's author
}

var _ opLog = (*memLog)(nil)

type logAuthor struct {
	r   clock.ReplicaID
	end uint64
	cs  changeRun
}

func newMemLog() *memLog { return &memLog{} }

// author returns r's entry, adding it if r is new. The pointer is valid
// until the next author is added.
func (l *memLog) author(r clock.ReplicaID) *logAuthor {
	i := l.last
	if i < len(l.authors) && l.authors[i].r == r {
		return &l.authors[i]
	}
	i, found := l.search(r)
	if !found {
		l.authors = slices.Insert(l.authors, i, logAuthor{r: r})
	}
	l.last = i
	return &l.authors[i]
}

func (l *memLog) search(r clock.ReplicaID) (int, bool) {
	return slices.BinarySearchFunc(l.authors, r, func(a logAuthor, r clock.ReplicaID) int {
		return cmp.Compare(a.r, r)
	})
}

// changesOf returns r's logged changes in seq order (nil if none).
func (l *memLog) changesOf(r clock.ReplicaID) *changeRun {
	if i, found := l.search(r); found {
		return &l.authors[i].cs
	}
	return nil
}

func (l *memLog) append(c *Change) {
	a := l.author(c.Replica)
	if e := c.EndSeq(); e > a.end {
		a.end = e
	}
	a.cs.push(c)
}

func (l *memLog) since(vv VersionVector, maxBytes int) []*Change {
	var out []*Change
	if maxBytes <= 0 {
		// Everything lacking goes: size the result once.
		total := 0
		for k := range l.authors {
			if a := &l.authors[k]; a.end > vv[a.r] {
				total += a.cs.len() - a.cs.search(vv[a.r])
			}
		}
		out = make([]*Change, 0, total)
	}
	size := 0
	for k := range l.authors {
		a := &l.authors[k]
		have := vv[a.r]
		if a.end <= have {
			continue // nothing vv lacks (the common case)
		}
		cs := &a.cs
		// An author's changes are in seq order: from the first that ends
		// above have, every one holds ops vv lacks.
		i := cs.search(have)
		if maxBytes <= 0 {
			out = cs.appendFrom(out, i)
			continue
		}
		for ; i < cs.len(); i++ {
			c := cs.at(i)
			sz := changeSize(c)
			if len(out) > 0 && size+sz > maxBytes {
				return out
			}
			size += sz
			out = append(out, c)
		}
	}
	return out
}

// changeSize estimates the memory and wire size of c in bytes.
func changeSize(c *Change) int {
	n := 48
	for i := range c.Ops {
		op := &c.Ops[i]
		n += 16 + len(op.Path)*24 + len(op.Key.Key) + len(op.Pred)*16 + len(op.Ctx)*16 + len(op.Marks)*48 + 32
		for _, sg := range op.Path {
			n += len(sg.Key)
		}
		if s, ok := op.Value.AsString(); ok {
			n += len(s)
		}
	}
	return n
}
