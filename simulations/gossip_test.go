package simulations

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// testKeys and testAnnKeys number the tests' broadcast keys, as Sim.keys
// does a run's (a run numbers announcement keys by their replica).
var testKeys, testAnnKeys keyTable

// announceKeyPrefix starts every announcement's broadcast key (mesh's
// announceKey).
const announceKeyPrefix = "a/"

func bc(key string, size int) *bcast {
	b := &bcast{key: key, size: int32(size), kid: testKeys.of(key), msg: []byte(strings.Repeat("x", size)), slot: -1, aid: -1}
	if strings.HasPrefix(key, announceKeyPrefix) {
		b.aid = testAnnKeys.of(key)
	}
	return b
}

// TestRetransmitLimit: memberlist's limit is mult * ceil(log10(n+1)).
func TestRetransmitLimit(t *testing.T) {
	for _, tt := range []struct{ mult, n, want int }{
		{4, 1, 4}, {4, 9, 4}, {4, 10, 8}, {4, 20, 8}, {4, 99, 8}, {4, 100, 12}, {4, 1000, 16}, {4, 10000, 20}, {2, 50, 4},
	} {
		if got := retransmitLimit(tt.mult, tt.n); got != tt.want {
			t.Errorf("retransmitLimit(%d, %d) = %d, want %d", tt.mult, tt.n, got, tt.want)
		}
	}
}

// TestQueueTransmitLimit: a broadcast is handed out exactly limit times.
func TestQueueTransmitLimit(t *testing.T) {
	var q gossipQueue
	q.queue(bc("a", 10), 0)
	sent := 0
	for range 20 {
		pkt, _ := q.take(nil, 1400, 3, 8)
		sent += len(pkt)
	}
	if sent != 8 || q.len() != 0 {
		t.Fatalf("sent %d times, %d left; want 8 and 0", sent, q.len())
	}
}

// TestQueuePacking: a packet takes messages up to its room, each costing
// its overhead; what does not fit waits; smaller ones further down the
// order still go.
func TestQueuePacking(t *testing.T) {
	var q gossipQueue
	for i := range 30 {
		q.queue(bc(string(rune('a'+i)), 97), 0) // 100 bytes each with overhead
	}
	pkt, used := q.take(nil, 1396, 3, 8)
	if len(pkt) != 13 || used != 1300 {
		t.Fatalf("took %d messages, %d bytes; want 13 and 1300", len(pkt), used)
	}
	// Newest first among equally transmitted.
	if pkt[0].key != string(rune('a'+29)) {
		t.Fatalf("first taken %q, want the newest", pkt[0].key)
	}
	// A big one that does not fit is skipped; a small older one fills in.
	var q2 gossipQueue
	q2.queue(bc("small", 10), 0)
	q2.queue(bc("big", 1390), 0)
	q2.queue(bc("mid", 100), 0)
	pkt, _ = q2.take(nil, 200, 3, 8)
	if len(pkt) != 2 || pkt[0].key != "mid" || pkt[1].key != "small" {
		t.Fatalf("took %v, want mid then small", entryKeys(t, pkt))
	}
}

// TestQueueFewestFirst: less transmitted broadcasts go first.
func TestQueueFewestFirst(t *testing.T) {
	var q gossipQueue
	old := bc("old", 10)
	q.queue(old, 0)
	q.take(nil, 1400, 3, 8) // old: 1 transmit
	q.queue(bc("new", 10), 0)
	pkt, _ := q.take(nil, 16, 3, 8) // room for one
	if len(pkt) != 1 || pkt[0].key != "new" {
		t.Fatalf("took %v, want new", entryKeys(t, pkt))
	}
	pkt, _ = q.take(nil, 16, 3, 8) // both at 1: newest first
	if len(pkt) != 1 || pkt[0].key != "new" {
		t.Fatalf("took %v, want new again (newest among equals)", entryKeys(t, pkt))
	}
}

// TestQueueReplaceAndPrune: the same key replaces (transmits reset); past
// the limit the most transmitted, oldest go.
func TestQueueReplaceAndPrune(t *testing.T) {
	var q gossipQueue
	a := bc("a", 10)
	q.queue(a, 0)
	q.take(nil, 1400, 3, 8)
	q.queue(a, 0)
	if tr, ok := q.transmits(a); q.len() != 1 || !ok || tr != 0 {
		t.Fatalf("replace: len %d transmits %d (queued %v), want 1 and 0", q.len(), tr, ok)
	}
	var p gossipQueue
	x, y := bc("x", 10), bc("y", 10)
	p.queue(x, 3)
	p.queue(y, 3)
	p.take(nil, 1400, 3, 8) // x and y at 1 transmit
	p.queue(bc("z", 10), 3)
	pruned := p.queue(bc("w", 10), 3)
	_, xKept := p.transmits(x)
	if _, yKept := p.transmits(y); pruned != 1 || xKept || !yKept {
		t.Fatalf("prune: pruned %d, x kept %v; want the oldest most-transmitted (x) pruned", pruned, xKept)
	}
}

// TestEventOrder: events run by time, ties in push order.
func TestEventOrder(t *testing.T) {
	var q eventQueue
	for i, at := range []int64{5, 1, 5, 3, 1} {
		q.push(event{at: at, node: int32(i)})
	}
	var got []int32
	for q.len() > 0 {
		got = append(got, q.pop().node)
	}
	want := []int32{1, 4, 3, 0, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func keys(bs []*bcast) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.key)
	}
	return out
}

// entryKeys are the keys of a packet's entries, after checking that each
// entry carries its broadcast's duplicate-check fields.
func entryKeys(t *testing.T, ps []pent) []string {
	t.Helper()
	var out []string
	for _, p := range ps {
		b := p.bcast
		fits := (b.change || b.announce) && b.end <= math.MaxUint32
		if fits && (uint64(p.end) != b.end || p.ridx != b.ridx || p.ann != b.announce) || !fits && p.end != 0 {
			t.Fatalf("entry %+v for broadcast %+v", p, *b)
		}
		out = append(out, p.key)
	}
	return out
}

// naiveQueue is the oracle for gossipQueue: memberlist's rules written
// plainly over one unsorted list.
type naiveQueue struct {
	items  []naiveItem
	nextID uint64
}

type naiveItem struct {
	b         *bcast
	transmits int
	id        uint64
}

func (q *naiveQueue) queue(b *bcast, limit int) int {
	q.items = slices.DeleteFunc(q.items, func(it naiveItem) bool { return it.b.key == b.key })
	q.nextID++
	q.items = append(q.items, naiveItem{b: b, id: q.nextID})
	pruned := 0
	for limit > 0 && len(q.items) > limit {
		worst := 0
		for i, it := range q.items {
			w := q.items[worst]
			if it.transmits > w.transmits || (it.transmits == w.transmits && it.id < w.id) {
				worst = i
			}
		}
		q.items = slices.Delete(q.items, worst, worst+1)
		pruned++
	}
	return pruned
}

func (q *naiveQueue) take(room, overhead, limit int) ([]*bcast, int) {
	order := slices.Clone(q.items)
	slices.SortFunc(order, func(a, b naiveItem) int {
		if a.transmits != b.transmits {
			return a.transmits - b.transmits
		}
		return -cmp.Compare(a.id, b.id)
	})
	var out []*bcast
	taken := map[uint64]bool{}
	used := 0
	for _, it := range order {
		if room-used <= overhead {
			break
		}
		if cost := overhead + len(it.b.msg); used+cost <= room {
			used += cost
			out = append(out, it.b)
			taken[it.id] = true
		}
	}
	kept := q.items[:0]
	for _, it := range q.items {
		if taken[it.id] {
			it.transmits++
			if it.transmits >= limit {
				continue
			}
		}
		kept = append(kept, it)
	}
	q.items = kept
	return out, used
}

// TestQueueOracle: random queues, replacements, prunes and takes give the
// same packets as the naive queue.
func TestQueueOracle(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var q gossipQueue
		var o naiveQueue
		limit, qlimit := 1+rng.IntN(8), rng.IntN(40)
		var pool []*bcast
		for i := range 20 + rng.IntN(20) {
			b := bc(fmt.Sprintf("oracle-%d-%d", seed, i), 1+rng.IntN(300))
			if i%3 > 0 { // changes, some with ends beyond 32 bits
				b.change, b.ridx, b.end = true, int32(i), uint64(i)<<(16*(i%3))
			}
			pool = append(pool, b)
		}
		// Announcements: several broadcasts (other bytes) per key.
		for i := range 10 + rng.IntN(10) {
			b := bc(fmt.Sprintf("%soracle-%d-%d", announceKeyPrefix, seed, i%4), 20+rng.IntN(20))
			b.announce, b.ridx, b.end = true, int32(i%4), uint64(1+i)
			pool = append(pool, b)
		}
		for step := range 400 {
			if rng.IntN(3) > 0 {
				b := pool[rng.IntN(len(pool))]
				if got, want := q.queue(b, qlimit), o.queue(b, qlimit); got != want {
					t.Fatalf("seed %d step %d: pruned %d, oracle %d", seed, step, got, want)
				}
			} else {
				room := 50 + rng.IntN(1400)
				got, gotUsed := q.take(nil, room, 3, limit)
				want, wantUsed := o.take(room, 3, limit)
				if !slices.Equal(entryKeys(t, got), keys(want)) || gotUsed != wantUsed {
					t.Fatalf("seed %d step %d: took %v (%d bytes), oracle %v (%d bytes)", seed, step, entryKeys(t, got), gotUsed, keys(want), wantUsed)
				}
			}
			if q.len() != len(o.items) {
				t.Fatalf("seed %d step %d: len %d, oracle %d", seed, step, q.len(), len(o.items))
			}
		}
		// Every entry in a bucket (live or stale) holds one reference
		// to its broadcast's table slot; the live ones are the queue's
		// length, the stale ones its stale count.
		if q.tab == nil {
			continue
		}
		refs := map[int32]int32{}
		live, stale := 0, 0
		for _, bk := range q.buckets {
			for _, e := range bk {
				if b := q.tab.tab[e.slot]; b == nil || b.kid != e.kid || b.slot != e.slot {
					t.Fatalf("seed %d: entry %+v has slot of %+v", seed, e, b)
				}
				refs[e.slot]++
				if q.isStale(&e) {
					stale++
				} else {
					live++
				}
			}
		}
		for slot, n := range refs {
			if q.tab.refs[slot] != n {
				t.Fatalf("seed %d: slot %d has %d references for %d entries", seed, slot, q.tab.refs[slot], n)
			}
		}
		if len(refs) != len(q.tab.tab)-len(q.tab.free) || live != q.len() || stale != q.stale {
			t.Fatalf("seed %d: %d slots in use for %d slots referred to; %d live entries (len %d), %d stale (count %d)",
				seed, len(q.tab.tab)-len(q.tab.free), len(refs), live, q.len(), stale, q.stale)
		}
	}
}

// TestEventQueueOracle: random pushes and pops come out in (at, push
// order), as from a sorted list.
func TestEventQueueOracle(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		var q eventQueue
		var oracle []event // sorted by (at, push order); node is the push number
		var seq int32
		for step := range 2000 {
			if rng.IntN(5) < 3 || len(oracle) == 0 {
				seq++
				e := event{at: rng.Int64N(100), node: seq}
				q.push(e)
				i, _ := slices.BinarySearchFunc(oracle, e, func(a, b event) int {
					return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.node, b.node))
				})
				oracle = slices.Insert(oracle, i, e)
				continue
			}
			got, want := q.pop(), oracle[0]
			oracle = oracle[1:]
			if got.at != want.at || got.node != want.node {
				t.Fatalf("seed %d step %d: popped (%d, node %d), want (%d, node %d)", seed, step, got.at, got.node, want.at, want.node)
			}
		}
		if q.len() != len(oracle) {
			t.Fatalf("seed %d: %d left, want %d", seed, q.len(), len(oracle))
		}
	}
}

// TestQueueStaleAnnouncements: announcements replaced many times before
// any packet leave one live entry, their stale entries stay bounded
// (swept), and a packet carries the newest only.
func TestQueueStaleAnnouncements(t *testing.T) {
	var q gossipQueue
	q.queue(bc("c/other", 10), 0)
	var last *bcast
	for i := range 500 {
		last = bc(announceKeyPrefix+"stale", 10+i%7)
		q.queue(last, 0)
		if q.len() != 2 || q.stale > q.n+staleSlack {
			t.Fatalf("after %d announcements: len %d, %d stale", i+1, q.len(), q.stale)
		}
	}
	pkt, _ := q.take(nil, 1400, 3, 8)
	if got := entryKeys(t, pkt); len(got) != 2 || pkt[0].bcast != last || got[1] != "c/other" {
		t.Fatalf("took %v", got)
	}
	if q.stale != 0 || len(q.buckets[0]) != 0 || len(q.buckets[1]) != 2 {
		t.Fatalf("after a full take: %d stale, buckets %d and %d long", q.stale, len(q.buckets[0]), len(q.buckets[1]))
	}
}
