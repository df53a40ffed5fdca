package simulations

import (
	"strings"
	"testing"
)

// testKeys numbers the tests' broadcast keys, as Sim.keys does a run's.
var testKeys keyTable

func bc(key string, size int) *bcast {
	return &bcast{key: key, kid: testKeys.of(key), msg: []byte(strings.Repeat("x", size))}
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
		t.Fatalf("took %v, want mid then small", keys(pkt))
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
		t.Fatalf("took %v, want new", keys(pkt))
	}
	pkt, _ = q.take(nil, 16, 3, 8) // both at 1: newest first
	if len(pkt) != 1 || pkt[0].key != "new" {
		t.Fatalf("took %v, want new again (newest among equals)", keys(pkt))
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
	if q.len() != 1 || q.byKey[a.kid].transmits != 0 {
		t.Fatalf("replace: len %d transmits %d, want 1 and 0", q.len(), q.byKey[a.kid].transmits)
	}
	var p gossipQueue
	x, y := bc("x", 10), bc("y", 10)
	p.queue(x, 3)
	p.queue(y, 3)
	p.take(nil, 1400, 3, 8) // x and y at 1 transmit
	p.queue(bc("z", 10), 3)
	if pruned := p.queue(bc("w", 10), 3); pruned != 1 || p.byKey[x.kid] != nil || p.byKey[y.kid] == nil {
		t.Fatalf("prune: pruned %d, x kept %v; want the oldest most-transmitted (x) pruned", pruned, p.byKey[x.kid] != nil)
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
