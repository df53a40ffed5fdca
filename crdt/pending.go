package crdt

import (
	"cmp"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// pendingBuf holds causally premature changes per author, sorted by
// StartSeq, so only each author's head can become ready (FIFO). The authors
// with buffered changes are also kept in ascending order, so that Apply,
// which walks them whenever anything is buffered, neither collects nor
// sorts them each time.
type pendingBuf struct {
	n     int // first: Apply reads it on every call (see Doc's layout)
	bytes int
	by    map[clock.ReplicaID][]*Change
	reps  []clock.ReplicaID // the keys of by, ascending
	walk  []clock.ReplicaID // replicas' result, reused
}

// add buffers c unless an equal change is buffered; it reports false if the
// buffer is full. The map is made at the first add: most documents never
// buffer anything.
func (p *pendingBuf) add(c *Change, maxN, maxBytes int) bool {
	if p.by == nil {
		p.by = make(map[clock.ReplicaID][]*Change)
	}
	cs := p.by[c.Replica]
	i, found := slices.BinarySearchFunc(cs, c.StartSeq, func(x *Change, s uint64) int { return cmp.Compare(x.StartSeq, s) })
	if found {
		if old := cs[i]; c.EndSeq() > old.EndSeq() {
			// A gap reaching further than the change buffered (or a
			// longer gap): it stands for that change, and more.
			p.bytes += changeSize(c) - changeSize(old)
			cs[i] = c
		}
		return true
	}
	sz := changeSize(c)
	if p.n+1 > maxN || p.bytes+sz > maxBytes {
		return false
	}
	if len(cs) == 0 {
		k, _ := slices.BinarySearch(p.reps, c.Replica)
		p.reps = slices.Insert(p.reps, k, c.Replica)
	}
	p.by[c.Replica] = slices.Insert(cs, i, c)
	p.n++
	p.bytes += sz
	return true
}

// replicas returns the authors with buffered changes, ascending. The slice
// is reused by the next call; popping while walking it is safe.
func (p *pendingBuf) replicas() []clock.ReplicaID {
	p.walk = append(p.walk[:0], p.reps...)
	return p.walk
}

func (p *pendingBuf) head(r clock.ReplicaID) *Change {
	if cs := p.by[r]; len(cs) > 0 {
		return cs[0]
	}
	return nil
}

func (p *pendingBuf) pop(r clock.ReplicaID) {
	cs := p.by[r]
	p.n--
	p.bytes -= changeSize(cs[0])
	cs[0] = nil
	if len(cs) == 1 {
		delete(p.by, r)
		if k, found := slices.BinarySearch(p.reps, r); found {
			p.reps = slices.Delete(p.reps, k, k+1)
		}
		return
	}
	p.by[r] = cs[1:]
}

// all returns the buffered changes, by replica then sequence.
func (p *pendingBuf) all() []*Change {
	var out []*Change
	for _, r := range p.reps {
		out = append(out, p.by[r]...)
	}
	return out
}
