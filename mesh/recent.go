package mesh

import (
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// recentChanges keeps the changes this node applied most recently, as the
// encoded Change values it already holds, so that fetches and repair
// streams for recent operations are answered without asking the document
// to find and re-encode them. Per replica it holds one contiguous run in
// ascending order; the total Data size is bounded: past the limit the
// older half of the largest run is dropped. It is part of the Core: not
// safe for concurrent use, no time, no randomness.
type recentChanges struct {
	limit int
	bytes int
	runs  map[clock.ReplicaID][]Change
	sizes map[clock.ReplicaID]int // Data bytes of each run
}

func newRecentChanges(limit int) *recentChanges {
	return &recentChanges{limit: limit, runs: map[clock.ReplicaID][]Change{}, sizes: map[clock.ReplicaID]int{}}
}

func runBytes(run []Change) int {
	n := 0
	for _, ch := range run {
		n += len(ch.Data)
	}
	return n
}

// add appends ch to its replica's run. A change that does not continue the
// run restarts it (the gap is the document's to answer); one the run
// already covers is ignored.
func (rc *recentChanges) add(ch Change) {
	if rc.limit <= 0 {
		return
	}
	run := rc.runs[ch.Replica]
	if n := len(run); n > 0 && ch.Start != run[n-1].End+1 {
		if ch.End <= run[n-1].End {
			return
		}
		rc.bytes -= rc.sizes[ch.Replica]
		rc.sizes[ch.Replica] = 0
		run = nil
	}
	rc.runs[ch.Replica] = append(run, ch)
	rc.sizes[ch.Replica] += len(ch.Data)
	rc.bytes += len(ch.Data)
	for rc.bytes > rc.limit {
		rc.evict()
	}
}

// evict drops the older half (at least one change) of the largest run.
func (rc *recentChanges) evict() {
	var big clock.ReplicaID
	most := -1
	for r, b := range rc.sizes {
		if b > most || (b == most && r < big) {
			big, most = r, b
		}
	}
	run := rc.runs[big]
	k := max(1, len(run)/2)
	dropped := runBytes(run[:k])
	rc.bytes -= dropped
	if k == len(run) {
		delete(rc.runs, big)
		delete(rc.sizes, big)
		return
	}
	rc.sizes[big] -= dropped
	rc.runs[big] = slices.Clone(run[k:])
}

// since returns r's changes after seq after up to at least upto, or false
// when the run does not hold all of them.
func (rc *recentChanges) since(r clock.ReplicaID, after, upto uint64) ([]Change, bool) {
	run := rc.runs[r]
	if len(run) == 0 || run[len(run)-1].End < upto {
		return nil, false
	}
	i, _ := slices.BinarySearchFunc(run, after+1, func(ch Change, seq uint64) int {
		switch {
		case ch.End < seq:
			return -1
		case ch.Start > seq:
			return 1
		}
		return 0
	})
	if i == len(run) || run[i].Start > after+1 {
		return nil, false
	}
	return run[i:], true
}
