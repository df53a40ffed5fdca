package mesh

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/syncmesh/syncmesh/clock"
)

func TestRecentChanges(t *testing.T) {
	ch := func(r, start, end uint64, size int) Change {
		return Change{Replica: clock.ReplicaID(r), Start: start, End: end, Data: make([]byte, size)}
	}
	rc := &recentChanges{limit: 100}
	for _, c := range []Change{ch(1, 1, 1, 10), ch(1, 2, 3, 10), ch(1, 4, 4, 10), ch(2, 1, 1, 10)} {
		rc.add(c, 0)
	}
	rc.add(ch(1, 2, 2, 10), 0) // covered: ignored
	tests := []struct {
		r           uint64
		after, upto uint64
		want        string // starts of the returned changes, or "miss"
	}{
		{1, 0, 4, "[1 2 4]"},
		{1, 1, 4, "[2 4]"},
		{1, 2, 4, "[2 4]"}, // 2..3 overlaps what the peer has: sent whole
		{1, 3, 4, "[4]"},
		{1, 0, 5, "miss"}, // we do not hold 5
		{2, 0, 1, "[1]"},
		{3, 0, 1, "miss"},
	}
	for _, tc := range tests {
		got := "miss"
		if run, ok := rc.since(clock.ReplicaID(tc.r), tc.after, tc.upto); ok {
			var starts []uint64
			for _, c := range run {
				starts = append(starts, c.Start)
			}
			got = fmt.Sprint(starts)
		}
		if got != tc.want {
			t.Errorf("since(%d, %d, %d) = %s, want %s", tc.r, tc.after, tc.upto, got, tc.want)
		}
	}
	// A gap restarts the run: what came before it is the document's.
	rc.add(ch(1, 9, 9, 10), 0)
	if _, ok := rc.since(clock.ReplicaID(1), 0, 9); ok {
		t.Error("served across a gap")
	}
	if run, ok := rc.since(clock.ReplicaID(1), 8, 9); !ok || len(run) != 1 {
		t.Errorf("after the gap: %v %v", run, ok)
	}
	// Over the limit, the largest run loses its older half.
	for s := uint64(10); s < 30; s++ {
		rc.add(ch(1, s, s, 10), 0)
	}
	one, two := runBytes(rc.find(1).changes), runBytes(rc.find(2).changes)
	if rc.bytes > rc.limit || rc.bytes != one+two || rc.find(1).size != one || len(rc.find(1).ats) != len(rc.find(1).changes) {
		t.Fatalf("bytes %d (limit %d), runs %d + %d", rc.bytes, rc.limit, one, two)
	}
	if _, ok := rc.since(clock.ReplicaID(1), 26, 29); !ok {
		t.Error("the newest changes were evicted")
	}
	// After evictions the run still knows where it ends: a covered change
	// is ignored and the next one continues it.
	rc.add(ch(1, 29, 29, 10), 0)
	rc.add(ch(1, 30, 31, 10), 0)
	if run, ok := rc.since(clock.ReplicaID(1), 28, 31); !ok || len(run) != 2 || run[0].Start != 29 || rc.find(1).end != 31 {
		t.Errorf("after evictions: %v %v", run, ok)
	}
}

// countingDoc counts the calls that make the document encode a chunk of
// changes (not the one-change probes for compaction, maxBytes 0).
type countingDoc struct {
	*fakeDoc
	changesSince int
}

func (d *countingDoc) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	if maxBytes > 0 {
		d.changesSince++
	}
	return d.fakeDoc.ChangesSince(v, maxBytes)
}

func TestCoreAnswersFromRecentChanges(t *testing.T) {
	doc := &countingDoc{fakeDoc: newFakeDoc(1, func() int64 { return 1000 })}
	c, err := NewCore(CoreConfig{Name: "me", ChunkBytes: 1 << 10, ChunksPerReply: 2}, doc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		c.Local(doc.update(0, 0, fmt.Sprintf("k%d", i), "v"))
	}
	out, err := c.Receive(1000, Encode(&FetchMsg{From: "peer", Replica: 1, After: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if doc.changesSince != 0 {
		t.Fatalf("the document was asked %d times", doc.changesSince)
	}
	var got []Change
	for i, s := range out.Sends {
		m, err := Decode(s.Msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		cm := m.(*ChangesMsg)
		if last := i == len(out.Sends)-1; cm.More != (last && cm.Changes[len(cm.Changes)-1].End < 40) {
			t.Fatalf("chunk %d of %d: More = %v", i, len(out.Sends), cm.More)
		}
		got = append(got, cm.Changes...)
	}
	if len(out.Sends) != 2 || len(got) == 0 || got[0].Start != 11 {
		t.Fatalf("%d chunks, %d changes starting at %v", len(out.Sends), len(got), got)
	}
	// The same answer as the document's, in the same order.
	want, _, _ := doc.fakeDoc.ChangesSince(VersionVector{1: 10}, 1<<30)
	for i := range got {
		if got[i].Start != want[i].Start || string(got[i].Data) != string(want[i].Data) {
			t.Fatalf("change %d: %d..%d, the document has %d..%d", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
	}
	// Older than what is kept: the document answers.
	c.recent = recentChanges{limit: 1}
	if _, err := c.Receive(1000, Encode(&DigestMsg{From: "peer", Version: VersionVector{}})); err != nil {
		t.Fatal(err)
	}
	if doc.changesSince == 0 {
		t.Fatal("the document was not asked for changes the core no longer holds")
	}
}

// TestCoreKeepsReleasedChanges checks that changes the document held as
// pending and applied only when an earlier one arrived still reach the
// recent changes, so a fetch from the start is answered without the
// document.
func TestCoreKeepsReleasedChanges(t *testing.T) {
	src := newFakeDoc(7, func() int64 { return 1000 })
	doc := &countingDoc{fakeDoc: newFakeDoc(1, func() int64 { return 1000 })}
	c, err := NewCore(CoreConfig{Name: "me"}, doc)
	if err != nil {
		t.Fatal(err)
	}
	var chs []Change
	for i := range 4 {
		chs = append(chs, src.update(0, 0, fmt.Sprintf("k%d", i), "v"))
	}
	for _, i := range []int{3, 1, 2, 0} { // all but the last pending until the first arrives
		if _, err := c.Receive(1000, Encode(&ChangeMsg{Change: chs[i]})); err != nil {
			t.Fatal(err)
		}
	}
	if doc.vv[7] != 4 || c.heldBytes != 0 || len(c.held) != 0 {
		t.Fatalf("version %v, held %d bytes in %d replicas", doc.vv, c.heldBytes, len(c.held))
	}
	out, err := c.Receive(1000, Encode(&FetchMsg{From: "peer", Replica: 7, After: 0}))
	if err != nil {
		t.Fatal(err)
	}
	if doc.changesSince != 0 || len(out.Sends) != 1 {
		t.Fatalf("document asked %d times, %d sends", doc.changesSince, len(out.Sends))
	}
	m, err := Decode(out.Sends[0].Msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.(*ChangesMsg).Changes; len(got) != 4 || got[0].Start != 1 || got[3].End != 4 {
		t.Fatalf("answer %v", got)
	}
}

// TestRecentReplicaState: what the core keeps of a replica in its entry
// survives the run's restart and its eviction, and an entry holding only
// that state serves nothing.
func TestRecentReplicaState(t *testing.T) {
	rc := &recentChanges{limit: 15}
	one, two := clock.ReplicaID(1), clock.ReplicaID(2)
	st := replicaState{announced: 3, fetchedFrom: "n1"}
	rc.entry(one).rs = st
	if _, ok := rc.since(one, 0, 1); ok {
		t.Fatal("a state-only entry served changes")
	}
	rc.add(Change{Replica: one, Start: 1, End: 1, Data: make([]byte, 10)}, 0)
	rc.add(Change{Replica: one, Start: 5, End: 5, Data: make([]byte, 10)}, 0) // a gap: restarts
	if rc.state(one) != st {
		t.Fatalf("state after a restart: %+v", rc.state(one))
	}
	rc.add(Change{Replica: two, Start: 1, End: 2, Data: make([]byte, 8)}, 0) // evicts replica 1's run
	if _, ok := rc.since(one, 4, 5); ok || rc.state(one) != st || rc.bytes != 8 {
		t.Fatalf("after eviction: state %+v, %d bytes", rc.state(one), rc.bytes)
	}
	rc.add(Change{Replica: one, Start: 6, End: 6, Data: make([]byte, 1)}, 0)
	if run, ok := rc.since(one, 5, 6); !ok || len(run) != 1 || rc.state(one) != st {
		t.Fatalf("a new run after eviction: %v %v, state %+v", run, ok, rc.state(one))
	}
	if run := rc.find(two); run == nil || len(run.changes) == 0 {
		t.Fatal("replica 2's run went")
	}
}

// TestRecentRunLayout: a replica's entry is three cache lines, the run in
// the first and the outstanding fetch in the second (see recentRun).
func TestRecentRunLayout(t *testing.T) {
	var e recentRun
	if size := unsafe.Sizeof(e); size != 3*64 {
		t.Errorf("recentRun is %d bytes, want 192", size)
	}
	if off := unsafe.Offsetof(e.rs); off != 64 {
		t.Errorf("recentRun.rs at %d, want 64", off)
	}
	if end := unsafe.Offsetof(e.rs.fetching) + unsafe.Sizeof(e.rs.fetching); end > 64 {
		t.Errorf("replicaState's fetch ends at %d, past its line", end)
	}
}
