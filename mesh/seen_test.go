package mesh

import "testing"

// TestCoreSeenOnce: a gossiped change is re-gossiped the first time only,
// whether it is applied at once (it then never stays in the seen set) or
// waits for an earlier change (it stays until covered), and twice in one
// batch counts once.
func TestCoreSeenOnce(t *testing.T) {
	src, _, c := peeredCore(t, CoreConfig{GossipBytesPerSecond: 1 << 20})
	first, second, third := src.update(0, 0, "a", "1"), src.update(0, 0, "b", "2"), src.update(0, 0, "c", "3")
	msg := func(ch Change) Received {
		m := &ChangeMsg{Change: ch}
		return Received{Raw: Encode(m), Msg: m}
	}
	regossiped := func(out Output) int { return len(out.Broadcasts) }
	tests := []struct {
		name string
		in   []Received
		want int // changes re-gossiped
		seen int // len(c.seen) after the call
	}{
		{"pending twice in one batch", []Received{msg(second), msg(second)}, 1, 1},
		{"pending again", []Received{msg(second)}, 0, 1},
		{"applied, releasing the pending one", []Received{msg(first)}, 1, 0},
		{"applied twice in one batch", []Received{msg(third), msg(third)}, 1, 0},
		{"covered", []Received{msg(third)}, 0, 0},
	}
	for i, tc := range tests {
		out, errs := c.ReceiveDecoded(int64(1000*(i+1)), tc.in)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tc.name, errs)
		}
		if got := regossiped(out); got != tc.want || len(c.seen) != tc.seen || len(c.fresh) != 0 {
			t.Fatalf("%s: %d re-gossiped (want %d), seen %d (want %d), fresh %d", tc.name, got, tc.want, len(c.seen), tc.seen, len(c.fresh))
		}
	}
}

// TestCoreSeenCapacity: at SeenCapacity the set is cleared, changes marked
// in the current call included, as when every mark went into the map.
func TestCoreSeenCapacity(t *testing.T) {
	src, _, c := peeredCore(t, CoreConfig{GossipBytesPerSecond: 1 << 20, SeenCapacity: 2})
	var chs []Change
	for range 4 {
		chs = append(chs, src.update(0, 0, "k", "v"))
	}
	var in []Received
	for _, ch := range chs[1:] { // all pending: the first is missing
		m := &ChangeMsg{Change: ch}
		in = append(in, Received{Raw: Encode(m), Msg: m})
	}
	// Marks: 2, 3 (set full), then 4 clears and is the only one left.
	out, _ := c.ReceiveDecoded(1000, in)
	if len(out.Broadcasts) != 3 || len(c.seen) != 1 {
		t.Fatalf("%d re-gossiped, %d seen; want 3 and 1", len(out.Broadcasts), len(c.seen))
	}
	// 2 and 3 were forgotten with the clear: seen anew, once.
	out, _ = c.ReceiveDecoded(2000, in[:2])
	if len(out.Broadcasts) != 2 {
		t.Fatalf("%d re-gossiped after the clear, want 2", len(out.Broadcasts))
	}
}

// TestCoreSizesOnly: with a SizesOnly pool the core's sends carry their
// message and its encoded length, not the bytes.
func TestCoreSizesOnly(t *testing.T) {
	pool := &OutputPool{SizesOnly: true}
	src, _, c := peeredCore(t, CoreConfig{Outputs: pool})
	if _, err := c.Receive(0, Encode(&ChangeMsg{Change: src.update(0, 0, "a", "1")})); err != nil {
		t.Fatal(err)
	}
	out := c.SyncWith("peer")
	if len(out.Sends) != 1 {
		t.Fatalf("%d sends, want a digest", len(out.Sends))
	}
	s := out.Sends[0]
	if s.Msg != nil || s.Message == nil || s.Size != len(Encode(s.Message)) {
		t.Fatalf("send %+v: want no bytes and the size of %d", s, len(Encode(s.Message)))
	}
	// Without SizesOnly the bytes come with their size.
	_, _, c2 := peeredCore(t, CoreConfig{})
	s = c2.SyncWith("peer").Sends[0]
	if s.Size != len(s.Msg) || s.Size == 0 {
		t.Fatalf("send size %d, bytes %d", s.Size, len(s.Msg))
	}
}
