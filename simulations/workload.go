package simulations

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

func timeDur(d Duration) time.Duration { return time.Duration(d) }

// Write kinds.
const (
	wSet uint8 = iota
	wDelete
	wCounter
	wList
)

var kindNames = [...]string{"set", "delete", "counter", "list"}

// shareMarks are the shares of live nodes at which a write's spread is
// recorded (for the share-vs-time chart and the 99.99 % figure).
var shareMarks = func() []float64 {
	var m []float64
	for p := 5; p <= 95; p += 5 {
		m = append(m, float64(p)/100)
	}
	return append(m, 0.99, 0.999, 0.9999, 1)
}()

// write is one workload write and what the simulator learnt about it.
type write struct {
	replica    clock.ReplicaID
	start, end uint64
	at         int64 // µs
	kind       uint8
	key        string
	value      string // set and list
	delta      int64  // counter
	ts         clock.Timestamp
	seen       crdt.VersionVector // the author's version before the write (set, delete)
	holders    int32
	converged  int64 // µs, -1 until every live node holds it
	lost       bool
	marks      []int32 // ms after the write at which each shareMarks share was reached, -1 not yet
	nextMark   int8
	authorNode int32
}

// writeRegistry tracks every write: which live nodes hold it.
type writeRegistry struct {
	all         []*write
	byReplica   map[clock.ReplicaID][]*write // ascending start
	unconverged int
	lost        int
}

func (r *writeRegistry) init() { r.byReplica = make(map[clock.ReplicaID][]*write) }

// covered returns the writes of replica rep with end in (from, to].
func (r *writeRegistry) covered(rep clock.ReplicaID, from, to uint64) []*write {
	ws := r.byReplica[rep]
	i, _ := slices.BinarySearchFunc(ws, from+1, func(w *write, seq uint64) int {
		switch {
		case w.end < seq:
			return -1
		case w.end > seq:
			return 1
		}
		return 0
	})
	j := i
	for j < len(ws) && ws[j].end <= to {
		j++
	}
	return ws[i:j]
}

// advance records that node i now holds replica r's operations from+1..to.
func (s *Sim) advance(i int, r clock.ReplicaID, from, to uint64) {
	if to < from {
		s.violate("monotonic-versions", fmt.Sprintf("node %s version of replica %v went from %d to %d", s.nodes[i].name, r, from, to))
		return
	}
	for _, w := range s.wr.covered(r, from, to) {
		if w.lost {
			w.lost = false
			s.wr.lost--
			s.wr.unconverged++
		}
		w.holders++
		s.markShare(w)
	}
}

// markShare records the share marks w has reached and its convergence.
func (s *Sim) markShare(w *write) {
	if s.live == 0 {
		return
	}
	share := float64(w.holders) / float64(s.live)
	for int(w.nextMark) < len(shareMarks) && share >= shareMarks[w.nextMark]-1e-12 {
		w.marks[w.nextMark] = int32((s.now - w.at) / 1000)
		w.nextMark++
	}
	if w.converged < 0 && int(w.holders) >= s.live {
		w.converged = s.now
		s.wr.unconverged--
	}
}

// unhold removes a node that went down from the holders of the writes of
// replica rep up to seq.
func (r *writeRegistry) unhold(rep clock.ReplicaID, seq uint64) {
	for _, w := range r.covered(rep, 0, seq) {
		w.holders--
	}
}

// markLost marks unconverged writes that no live node and no node that
// may come back with its disk holds: they died with a node's memory.
func (r *writeRegistry) markLost(s *Sim) {
	for _, w := range r.all {
		if w.converged >= 0 || w.lost || w.holders > 0 {
			continue
		}
		kept := false
		for _, n := range s.nodes {
			if !n.up && !n.gone && !n.docLost && n.ad.VersionOf(w.replica) >= w.end {
				kept = true
				break
			}
		}
		if !kept {
			w.lost = true
			r.lost++
			r.unconverged--
		}
	}
}

// recheck converges writes that every remaining live node holds after the
// live count fell.
func (r *writeRegistry) recheck(s *Sim) {
	for _, w := range r.all {
		if w.converged < 0 && !w.lost && w.holders > 0 {
			s.markShare(w)
		}
	}
}

// write makes the workload's next write on a random live writer.
func (s *Sim) write() {
	wl := s.sc.Workload
	s.writesDue++
	if s.writesDue < wl.Writes {
		gap := int64(s.rWork.ExpFloat64() / wl.Rate * 1e6)
		s.q.push(event{at: s.now + max(gap, 1), kind: evWrite})
	}
	var n *node
	first := s.rWork.IntN(wl.Writers)
	for k := range wl.Writers {
		c := s.nodes[(first+k)%wl.Writers]
		if c.up {
			n = c
			break
		}
	}
	if n == nil {
		s.st.skippedWrites++
		return
	}
	mix := wl.Mix
	x := s.rWork.Float64() * (mix.Set + mix.Delete + mix.Counter + mix.List)
	kind := wList
	switch {
	case x < mix.Set:
		kind = wSet
	case x < mix.Set+mix.Delete:
		kind = wDelete
	case x < mix.Set+mix.Delete+mix.Counter:
		kind = wCounter
	}
	var key string
	if s.lastWrite >= 0 && s.rWork.Float64() < *wl.Conflict {
		key = s.wr.all[s.lastWrite].key // concurrent with a write still spreading
	} else if s.zipf != nil {
		key = "k" + itoa(int(s.zipf.Uint64()))
	} else {
		key = "k" + itoa(s.rWork.IntN(wl.Keys))
	}
	w := &write{at: s.now, kind: kind, key: key, converged: -1, authorNode: n.idx, marks: make([]int32, len(shareMarks))}
	for i := range w.marks {
		w.marks[i] = -1
	}
	idx := len(s.wr.all)
	w.value = "w" + itoa(idx)
	w.delta = int64(1 + s.rWork.IntN(5))
	if kind == wSet || kind == wDelete {
		w.seen = n.ad.version().Clone()
	}
	s.enter(n)
	c, err := n.doc.Update(func(d *draft.Draft) error {
		root := d.Root()
		switch w.kind {
		case wDelete:
			if root.Has(w.key) {
				return root.Delete(w.key)
			}
			w.kind = wSet
			return root.Set(w.key, draft.String(w.value))
		case wSet:
			return root.Set(w.key, draft.String(w.value))
		case wCounter:
			if !root.Has("cnt") {
				if err := root.Set("cnt", draft.MapOf(nil)); err != nil {
					return err
				}
			}
			m := root.Map("cnt")
			if !m.Has(w.key) {
				return m.Set(w.key, draft.Int(w.delta))
			}
			return m.Increment(w.key, draft.Int(w.delta))
		default:
			if !root.Has("log") {
				return root.Set("log", draft.ListOf(draft.String(w.value)))
			}
			return root.List("log").Append(draft.String(w.value))
		}
	})
	if err != nil {
		s.violate("workload", fmt.Sprintf("node %s: update failed: %v", n.name, err))
		return
	}
	if c == nil {
		s.st.skippedWrites++
		return
	}
	w.replica, w.start, w.end, w.ts = c.Replica, c.StartSeq, c.EndSeq(), c.Timestamp
	s.wr.all = append(s.wr.all, w)
	s.wr.byReplica[c.Replica] = append(s.wr.byReplica[c.Replica], w)
	s.wr.unconverged++
	s.lastWrite = idx
	n.ad.local(c)
	s.handle(n, n.core.Local(mesh.Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: s.cache.encoded(c)}))
}

// percentile returns the p-th percentile (0..100) of sorted xs, nearest
// rank.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}
