package mesh

import (
	"math/bits"
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
	// runs holds the runs by value, one per replica in order of first
	// sight, found through slots: with a Go map keyed by replica (the
	// earlier form) each lookup walked the map's header, directory,
	// table and group, four or five cache misses in a core out of cache,
	// and the core looks a replica up several times per message. Runs
	// are never removed (an evicted run is emptied in place): the
	// replicas a node hears of are its mesh's writers.
	runs  []recentRun
	slots replicaSlots
}

// recentRun is one replica's run: changes in ascending order, the time
// each was added (ms; ascending too), their Data bytes and the last
// change's End (read by every add; kept here so that add does not load
// the last change).
//
// It is three cache lines exactly (TestRecentRunLayout), and so is each
// entry of runs' array (Go's size classes for multiples of 192 bytes are
// multiples of 64, in page-aligned spans): the run itself, which add and since read, in the
// first; the outstanding fetch, which announcements read, in the second;
// the rest of the replica's state in the third. Unaligned, an entry's
// reads for one message spanned a line more.
type recentRun struct {
	changes []Change
	ats     []int64
	size    int
	end     uint64
	// rs is what the core keeps of the replica besides its run
	// (Core.replicaState), kept here so that the core's lookups of one
	// replica while it handles a change (the peer it fetched from, the
	// run, what it announced) find one entry, in cache after the first:
	// three maps were three cache misses per change per node in the
	// 10,000-node simulation. It survives the run's restarts and
	// evictions.
	rs      replicaState
	replica clock.ReplicaID
	_       [16]byte // to three lines
}

// find returns replica r's entry, or nil when there is none. The pointer
// is valid until the next call of entry.
func (rc *recentChanges) find(r clock.ReplicaID) *recentRun {
	if i, ok := rc.slots.find(r); ok {
		return &rc.runs[i]
	}
	return nil
}

// entry returns replica r's entry, made empty if there was none. The
// pointer is valid until the next call of entry.
func (rc *recentChanges) entry(r clock.ReplicaID) *recentRun { return &rc.runs[rc.number(r)] }

// number returns the index of replica r's entry in runs, adding an empty
// one if there was none.
func (rc *recentChanges) number(r clock.ReplicaID) int {
	i, ok := rc.slots.find(r)
	if !ok {
		i = len(rc.runs)
		rc.slots.insert(r, i)
		rc.runs = append(rc.runs, recentRun{replica: r})
	}
	return i
}

// state returns what the core keeps of replica r.
func (rc *recentChanges) state(r clock.ReplicaID) replicaState {
	if run := rc.find(r); run != nil {
		return run.rs
	}
	return replicaState{}
}

// recentRunCap is a new run's capacity (changes).
const recentRunCap = 8

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
	run := rc.entry(ch.Replica)
	if run.changes == nil {
		// Sized for a few changes at once: a run grown from nil by
		// appending reallocates both slices at 1, 2, 4 and 8 changes,
		// which in a simulation is every node times every replica.
		run.changes, run.ats = runArrays(recentRunCap)
	}
	if len(run.changes) > 0 && ch.Start != run.end+1 {
		if ch.End <= run.end {
			return
		}
		// New slices, not the old ones cut to zero: fetch and repair
		// answers hand out sub-slices of a run (Send.Message), so a
		// change once in a run's array is never overwritten.
		rc.bytes -= run.size
		*run = recentRun{replica: run.replica, rs: run.rs}
		run.changes, run.ats = runArrays(recentRunCap)
	}
	if len(run.changes) == cap(run.changes) {
		run.changes, run.ats = cloneRun(run.changes, run.ats, 2*len(run.changes))
	}
	run.changes = append(run.changes, ch)
	run.ats = append(run.ats, at)
	run.size += len(ch.Data)
	run.end = ch.End
	rc.bytes += len(ch.Data)
	for rc.bytes > rc.limit {
		rc.evict()
	}
}

// evict drops the older half (at least one change) of the largest run
// (of the lowest replica among equals).
func (rc *recentChanges) evict() {
	var run *recentRun
	for i := range rc.runs {
		r := &rc.runs[i]
		if run == nil || r.size > run.size || (r.size == run.size && r.replica < run.replica) {
			run = r
		}
	}
	k := max(1, len(run.changes)/2)
	dropped := runBytes(run.changes[:k])
	rc.bytes -= dropped
	if k == len(run.changes) {
		*run = recentRun{replica: run.replica, rs: run.rs}
		return
	}
	run.size -= dropped
	run.changes, run.ats = cloneRun(run.changes[k:], run.ats[k:], len(run.changes)-k)
}

// runArrays returns empty slices for a run's changes and their times with
// room for n changes, for the usual sizes in one allocation, not two: the
// runs' arrays were a third of the allocations of the 10,000-node
// simulation's cores (a new run and its growth per replica per node).
// Both slices keep the whole allocation alive; sub-slices of the changes
// handed out in answers (Send.Message) only hold the times with them.
func runArrays(n int) ([]Change, []int64) {
	switch {
	case n <= 8:
		b := new(struct {
			c [8]Change
			a [8]int64
		})
		return b.c[:0], b.a[:0]
	case n <= 16:
		b := new(struct {
			c [16]Change
			a [16]int64
		})
		return b.c[:0], b.a[:0]
	case n <= 32:
		b := new(struct {
			c [32]Change
			a [32]int64
		})
		return b.c[:0], b.a[:0]
	}
	return make([]Change, 0, n), make([]int64, 0, n)
}

// cloneRun copies a run's changes and times into new arrays with room for
// n changes (at least theirs).
func cloneRun(changes []Change, ats []int64, n int) ([]Change, []int64) {
	c, a := runArrays(max(n, len(changes)))
	return append(c, changes...), append(a, ats...)
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
	rr := rc.find(r)
	if rr == nil || len(rr.changes) == 0 || rr.end < upto {
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

// replicaSlots numbers replicas: an open-addressing hash table from
// replica to a small integer (recentChanges' index into its runs). One
// lookup reads one slot, usually in one cache line, where a Go map's
// read four or five lines in a core out of cache (10,000 simulated
// nodes). Not safe for concurrent use.
type replicaSlots struct {
	// table has a power-of-two length, at most half full; a slot with
	// n == 0 is empty.
	table []replicaSlot
	shift uint // 64 - log2(len(table))
	count int
}

// replicaSlot maps replica r to number n-1.
type replicaSlot struct {
	r clock.ReplicaID
	n int32
}

// home is r's first slot: Fibonacci hashing, the top bits of r times
// 2^64/phi, so that replicas differing only in their low bits spread.
func (s *replicaSlots) home(r clock.ReplicaID) int {
	return int((uint64(r) * 0x9e3779b97f4a7c15) >> s.shift)
}

// find returns r's number, or false.
func (s *replicaSlots) find(r clock.ReplicaID) (int, bool) {
	if s.count == 0 {
		return 0, false
	}
	mask := len(s.table) - 1
	for i := s.home(r); ; i = (i + 1) & mask {
		switch e := s.table[i]; {
		case e.n == 0:
			return 0, false
		case e.r == r:
			return int(e.n - 1), true
		}
	}
}

// insert numbers r (not numbered yet) n.
func (s *replicaSlots) insert(r clock.ReplicaID, n int) {
	if 2*(s.count+1) > len(s.table) {
		s.grow()
	}
	mask := len(s.table) - 1
	i := s.home(r)
	for s.table[i].n != 0 {
		i = (i + 1) & mask
	}
	s.table[i] = replicaSlot{r: r, n: int32(n + 1)}
	s.count++
}

// grow doubles the table (16 slots at first) and reinserts every entry.
func (s *replicaSlots) grow() {
	old := s.table
	size := max(16, 2*len(old))
	s.table = make([]replicaSlot, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	s.count = 0
	for _, e := range old {
		if e.n != 0 {
			s.insert(e.r, int(e.n-1))
		}
	}
}
