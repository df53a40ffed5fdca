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
// older half of the largest run is dropped. With each change it keeps the
// core time it was added at, so that repair answers can leave out what the
// fast path is still delivering. It is part of the Core: not safe for
// concurrent use, no clock of its own, no randomness.
type recentChanges struct {
	limit int
	bytes int
	// runs holds the runs by value: a pointer to each was one more
	// cache miss per add, and adds are per node per applied change.
	runs map[clock.ReplicaID]recentRun
}

// recentRun is one replica's run: changes in ascending order, the time
// each was added (ms; ascending too), their Data bytes and the last
// change's End (read by every add; kept here so that add does not load
// the last change).
type recentRun struct {
	changes []Change
	ats     []int64
	size    int
	end     uint64
	// rs is what the core keeps of the replica besides its run
	// (Core.replicaState), kept here so that the core's lookups of one
	// replica while it handles a change (the peer it fetched from, the
	// run, what it announced) find one map entry, in cache after the
	// first: three maps were three cache misses per change per node in
	// the 10,000-node simulation. It survives the run's restarts and
	// evictions.
	rs replicaState
}

// state returns what the core keeps of replica r.
func (rc *recentChanges) state(r clock.ReplicaID) replicaState { return rc.runs[r].rs }

// setState records what the core keeps of replica r.
func (rc *recentChanges) setState(r clock.ReplicaID, st replicaState) {
	run := rc.runs[r]
	run.rs = st
	rc.runs[r] = run
}

// recentRunCap is a new run's capacity (changes).
const recentRunCap = 8

func newRecentChanges(limit int) *recentChanges {
	return &recentChanges{limit: limit, runs: map[clock.ReplicaID]recentRun{}}
}

func runBytes(run []Change) int {
	n := 0
	for _, ch := range run {
		n += len(ch.Data)
	}
	return n
}

// add appends ch, added at time at (ms), to its replica's run. A change
// that does not continue the run restarts it (the gap is the document's
// to answer); one the run already covers is ignored.
func (rc *recentChanges) add(ch Change, at int64) {
	if rc.limit <= 0 {
		return
	}
	run := rc.runs[ch.Replica]
	if run.changes == nil {
		// Sized for a few changes at once: a run grown from nil by
		// appending reallocates both slices at 1, 2, 4 and 8 changes,
		// which in a simulation is every node times every replica.
		run.changes, run.ats = make([]Change, 0, recentRunCap), make([]int64, 0, recentRunCap)
	}
	if len(run.changes) > 0 && ch.Start != run.end+1 {
		if ch.End <= run.end {
			return
		}
		// New slices, not the old ones cut to zero: fetch and repair
		// answers hand out sub-slices of a run (Send.Message), so a
		// change once in a run's array is never overwritten.
		rc.bytes -= run.size
		run = recentRun{changes: make([]Change, 0, recentRunCap), ats: make([]int64, 0, recentRunCap), rs: run.rs}
	}
	run.changes = append(run.changes, ch)
	run.ats = append(run.ats, at)
	run.size += len(ch.Data)
	run.end = ch.End
	rc.runs[ch.Replica] = run
	rc.bytes += len(ch.Data)
	for rc.bytes > rc.limit {
		rc.evict()
	}
}

// evict drops the older half (at least one change) of the largest run.
func (rc *recentChanges) evict() {
	var big clock.ReplicaID
	most := -1
	for r, run := range rc.runs {
		if run.size > most || (run.size == most && r < big) {
			big, most = r, run.size
		}
	}
	run := rc.runs[big]
	k := max(1, len(run.changes)/2)
	dropped := runBytes(run.changes[:k])
	rc.bytes -= dropped
	if k == len(run.changes) {
		if run.rs == (replicaState{}) {
			delete(rc.runs, big)
		} else {
			rc.runs[big] = recentRun{rs: run.rs}
		}
		return
	}
	run.size -= dropped
	run.changes = slices.Clone(run.changes[k:])
	run.ats = slices.Clone(run.ats[k:])
	rc.runs[big] = run
}

// since returns r's changes after seq after up to at least upto, or false
// when the run does not hold all of them.
func (rc *recentChanges) since(r clock.ReplicaID, after, upto uint64) ([]Change, bool) {
	run, _, ok := rc.sinceAt(r, after, upto)
	return run, ok
}

// settled is since cut before the first change added after time before
// (ms): possibly empty when the run holds all but added them all later.
func (rc *recentChanges) settled(r clock.ReplicaID, after, upto uint64, before int64) ([]Change, bool) {
	run, ats, ok := rc.sinceAt(r, after, upto)
	if !ok {
		return nil, false
	}
	// Times are added in order, so they ascend along the run.
	n, _ := slices.BinarySearch(ats, before+1)
	return run[:n], true
}

// sinceAt is since with the time each change was added.
func (rc *recentChanges) sinceAt(r clock.ReplicaID, after, upto uint64) ([]Change, []int64, bool) {
	rr := rc.runs[r]
	if len(rr.changes) == 0 || rr.end < upto {
		return nil, nil, false
	}
	run := rr.changes
	// Fetches ask for what was just announced: the last change or two.
	// Look there before searching the run (each probe of the binary
	// search was a cache miss in the 10,000-node simulation).
	if n := len(run); n > 0 && run[n-1].Start <= after+1 && after+1 <= run[n-1].End {
		return run[n-1:], rr.ats[n-1:], true
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
		return nil, nil, false
	}
	return run[i:], rr.ats[i:], true
}
