package mesh

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

func TestFrontierTracker(t *testing.T) {
	const retention = 1000
	vv := func(a, b uint64) VersionVector {
		v := VersionVector{}
		if a > 0 {
			v[1] = a
		}
		if b > 0 {
			v[2] = b
		}
		return v
	}
	type step struct {
		now      int64
		live     []string
		versions map[string]VersionVector
		own      VersionVector
		want     VersionVector
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"alone: our own version", []step{
			{0, nil, nil, vv(5, 3), vv(5, 3)},
		}},
		{"minimum over live members", []step{
			{0, []string{"b", "c"}, map[string]VersionVector{"b": vv(4, 9), "c": vv(6, 1)}, vv(5, 3), vv(4, 1)},
		}},
		{"a live member not heard from holds everything", []step{
			{0, []string{"b", "c"}, map[string]VersionVector{"b": vv(4, 9)}, vv(5, 3), vv(0, 0)},
			{10, []string{"b", "c"}, map[string]VersionVector{"b": vv(4, 9), "c": vv(5, 3)}, vv(5, 3), vv(4, 3)},
		}},
		{"a dead member holds the frontier until retention has passed", []step{
			{0, []string{"b", "c"}, map[string]VersionVector{"b": vv(4, 4), "c": vv(1, 1)}, vv(5, 5), vv(1, 1)},
			{100, []string{"b"}, map[string]VersionVector{"b": vv(5, 5)}, vv(5, 5), vv(1, 1)},
			{100 + retention - 1, []string{"b"}, map[string]VersionVector{"b": vv(5, 5)}, vv(5, 5), vv(1, 1)},
			{100 + retention, []string{"b"}, map[string]VersionVector{"b": vv(5, 5)}, vv(5, 5), vv(5, 5)},
		}},
		{"a member back within retention holds again with its new vector", []step{
			{0, []string{"b", "c"}, map[string]VersionVector{"b": vv(4, 4), "c": vv(1, 1)}, vv(5, 5), vv(1, 1)},
			{100, []string{"b"}, nil, vv(5, 5), vv(1, 1)},
			{200, []string{"b", "c"}, map[string]VersionVector{"c": vv(3, 2)}, vv(5, 5), vv(3, 2)},
			{200 + 2*retention, []string{"b", "c"}, nil, vv(5, 5), vv(3, 2)},
		}},
		{"an expired member that returns counts again", []step{
			{0, []string{"c"}, map[string]VersionVector{"c": vv(1, 1)}, vv(5, 5), vv(1, 1)},
			{1, nil, nil, vv(5, 5), vv(1, 1)},
			{1 + retention, nil, nil, vv(5, 5), vv(5, 5)},
			{2 + retention, []string{"c"}, nil, vv(5, 5), vv(0, 0)},
			{3 + retention, []string{"c"}, map[string]VersionVector{"c": vv(0, 2)}, vv(5, 5), vv(0, 2)},
		}},
		{"versions of strangers are ignored", []step{
			{0, []string{"b"}, map[string]VersionVector{"b": vv(3, 3), "x": vv(0, 0)}, vv(5, 5), vv(3, 3)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newFrontierTracker(retention)
			for i, s := range tc.steps {
				got := tr.update(s.now, s.live, s.versions, s.own)
				if !got.Covers(s.want) || !s.want.Covers(got) {
					t.Fatalf("step %d (t=%d): frontier %v, want %v", i, s.now, got, s.want)
				}
			}
		})
	}
}

func TestCompactPlanner(t *testing.T) {
	p := newCompactPlanner(1000, 10)
	own := VersionVector{1: 9}
	if f, due := p.due(0, nil, nil, own); due {
		t.Fatalf("due at %v with 9 operations, want 10", f)
	}
	own[1] = 10
	f, due := p.due(1, nil, nil, own)
	if !due {
		t.Fatalf("not due at %v", f)
	}
	p.done(f)
	own[2] = 9
	if _, due := p.due(2, nil, nil, own); due {
		t.Fatal("due again after 9 more operations")
	}
	own[2] = 10
	if _, due := p.due(3, nil, nil, own); !due {
		t.Fatal("not due after 10 more operations")
	}
}

// compactNet drives Cores over crdt documents in virtual time with a
// lossless, in-order network, and compacts each document at its own
// frontier the way the Node's tick does. A node that is away neither sends
// nor receives, and the others see it as down.
type compactNet struct {
	t     testing.TB
	phys  *clock.Manual
	nodes []*compactNode
	queue []compactMsg
}

type compactNode struct {
	name  string
	core  *Core
	doc   *crdtDocument
	plan  *compactPlanner
	away  bool
	comps int
}

type compactMsg struct {
	to  int
	msg []byte
}

func newCompactNet(t testing.TB, n int, retention time.Duration, every uint64) *compactNet {
	t.Helper()
	net := &compactNet{t: t, phys: clock.NewManual(1_700_000_000_000)}
	for i := range n {
		clk, err := clock.New(clock.Config{Replica: clock.ReplicaID(i + 1), Physical: net.phys, MaxDrift: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		d, err := crdt.New(crdt.DefaultConfig(clock.ReplicaID(i+1), clk))
		if err != nil {
			t.Fatal(err)
		}
		doc := NewDocument(d, nil).(*crdtDocument)
		name := fmt.Sprintf("n%02d", i)
		core, err := NewCore(CoreConfig{Name: name, Seed: uint64(i), KeepPeerVersions: true}, doc)
		if err != nil {
			t.Fatal(err)
		}
		net.nodes = append(net.nodes, &compactNode{name: name, core: core, doc: doc, plan: newCompactPlanner(retention.Milliseconds(), every)})
	}
	for _, a := range net.nodes {
		for _, b := range net.nodes {
			a.core.PeerUp(b.name)
		}
	}
	return net
}

func (net *compactNet) index(name string) int {
	for i, nd := range net.nodes {
		if nd.name == name {
			return i
		}
	}
	net.t.Fatalf("unknown node %q", name)
	return -1
}

// handle queues what node from's core asked for.
func (net *compactNet) handle(from int, out Output) {
	if net.nodes[from].away {
		return
	}
	for _, b := range out.Broadcasts {
		for to := range net.nodes {
			if to != from {
				net.queue = append(net.queue, compactMsg{to, b.Msg})
			}
		}
	}
	for _, s := range out.Sends {
		net.queue = append(net.queue, compactMsg{net.index(s.To), s.Msg})
	}
}

// deliver delivers queued messages until none is left.
func (net *compactNet) deliver() {
	for len(net.queue) > 0 {
		m := net.queue[0]
		net.queue = net.queue[1:]
		if net.nodes[m.to].away {
			continue
		}
		out, err := net.nodes[m.to].core.Receive(net.phys.NowMillis(), m.msg)
		if err != nil {
			net.t.Fatalf("%s: %v", net.nodes[m.to].name, err)
		}
		net.handle(m.to, out)
	}
}

// tick advances time by d and ticks every node that is not away: the
// core's tick, then compaction when due.
func (net *compactNet) tick(d time.Duration) {
	net.phys.Advance(d)
	now := net.phys.NowMillis()
	for i, nd := range net.nodes {
		if nd.away {
			continue
		}
		net.handle(i, nd.core.Tick(now))
		if f, due := nd.plan.due(now, nd.core.Peers(), nd.core.PeerVersions(), nd.doc.Version()); due {
			nd.doc.Compact(f)
			nd.plan.done(f)
			nd.comps++
		}
		net.deliver()
	}
}

func (net *compactNet) write(i int, key string, v int64) {
	nd := net.nodes[i]
	ch, _, err := nd.doc.Update(func(d *draft.Draft) error {
		return d.Set(draft.Path{draft.Key(key)}, draft.Int(v))
	})
	if err != nil {
		net.t.Fatal(err)
	}
	net.handle(i, nd.core.Local(ch))
	net.deliver()
}

// setAway takes node i off the network (the others see it down) or back.
func (net *compactNet) setAway(i int, away bool) {
	nd := net.nodes[i]
	nd.away = away
	for j, o := range net.nodes {
		if j == i {
			continue
		}
		if away {
			o.core.PeerDown(nd.name)
			nd.core.PeerDown(o.name)
			continue
		}
		o.core.PeerUp(nd.name)
		nd.core.PeerUp(o.name)
		net.handle(i, nd.core.SyncWith(o.name))
	}
	net.deliver()
}

func (net *compactNet) converged() bool {
	want, _ := net.nodes[0].doc.State().MarshalJSON()
	for _, nd := range net.nodes[1:] {
		got, _ := nd.doc.State().MarshalJSON()
		if string(got) != string(want) || !nd.doc.Version().Covers(net.nodes[0].doc.Version()) ||
			!net.nodes[0].doc.Version().Covers(nd.doc.Version()) {
			return false
		}
	}
	return true
}

// A peer that was away while the others compacted past its version vector
// gets a snapshot plus the operations after it, its own operations from
// while it was away reach the others, and everyone converges. While it is
// dead but within Retention it holds the frontier back; after that it
// does not.
func TestCompactReturningPeer(t *testing.T) {
	const retention = 30 * time.Second
	net := newCompactNet(t, 3, retention, 20)
	for w := range 30 {
		net.write(w%3, fmt.Sprintf("k%d", w%7), int64(w))
	}
	for range 5 {
		net.tick(time.Second)
	}
	if !net.converged() {
		t.Fatal("not converged before the partition")
	}
	c := 2
	cVersion := net.nodes[c].doc.Version()
	net.setAway(c, true)
	for w := range 5 {
		net.write(c, fmt.Sprintf("away%d", w), int64(w))
	}
	for w := range 100 {
		net.write(w%2, fmt.Sprintf("k%d", w%7), int64(100+w))
		if w%10 == 0 {
			net.tick(time.Second)
		}
	}
	// Within retention the dead member's vector holds the frontier.
	for i := range 2 {
		if f := net.nodes[i].plan.last; !cVersion.Covers(f) {
			t.Fatalf("%s compacted to %v past the dead member's %v within retention", net.nodes[i].name, f, cVersion)
		}
	}
	for range int(retention / time.Second) {
		net.tick(time.Second)
	}
	for i := range 2 {
		nd := net.nodes[i]
		if nd.comps == 0 || cVersion.Covers(nd.plan.last) {
			t.Fatalf("%s did not compact past the expired member: %d compactions, floor %v", nd.name, nd.comps, nd.plan.last)
		}
		if _, _, err := nd.doc.ChangesSince(cVersion, 0); !errors.Is(err, ErrCompacted) {
			t.Fatalf("%s serves the returning member's version: err %v", nd.name, err)
		}
		if err := nd.doc.CheckFloor(cVersion); !errors.Is(err, ErrCompacted) {
			t.Fatalf("%s: CheckFloor(%v) = %v, want ErrCompacted", nd.name, cVersion, err)
		}
		if err := nd.doc.CheckFloor(nd.doc.Version()); err != nil {
			t.Fatalf("%s: CheckFloor(own version) = %v", nd.name, err)
		}
	}
	net.setAway(c, false)
	for s := 0; !net.converged(); s++ {
		if s > 20 {
			t.Fatal("not converged after the member returned")
		}
		net.tick(time.Second)
	}
	if got := net.nodes[c].core.Stats().SnapshotsMerged; got == 0 {
		t.Fatal("the returning member caught up without a snapshot")
	}
	st := net.nodes[0].doc.State()
	for w := range 5 {
		if _, ok := st.Get(fmt.Sprintf("away%d", w)); !ok {
			t.Fatalf("write away%d made while away is lost: %s", w, mustMarshal(st))
		}
	}
}

func mustMarshal(v draft.Value) string {
	b, _ := v.MarshalJSON()
	return string(b)
}

// longRunUpdates is the number of updates BenchmarkCompactLongRun makes:
// COMPACT_LONGRUN_UPDATES (issue 6 asks for 1,000,000), default 100,000 so
// the shared machine can run it.
func longRunUpdates() int {
	if s := os.Getenv("COMPACT_LONGRUN_UPDATES"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// BenchmarkCompactLongRun: 10 nodes (Cores over crdt documents, lossless
// in-process network), updates spread over the nodes on 10,000 keys, one
// millisecond of virtual time per update, a tick every 10 ms; it samples
// the per-node op log and the heap as the updates go. With compaction the
// log and heap flatten; without it they grow with the update count.
//
//	go test -run '^$' -bench CompactLongRun -benchtime 1x ./mesh/
//	COMPACT_LONGRUN_UPDATES=1000000 go test -run '^$' -bench CompactLongRun -benchtime 1x -timeout 60m ./mesh/
func BenchmarkCompactLongRun(b *testing.B) {
	for _, mode := range []struct {
		name  string
		every uint64
	}{{"compact", DefaultCompactOps}, {"nocompact", 1 << 62}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				longRun(b, longRunUpdates(), mode.every)
			}
		})
	}
}

func longRun(b *testing.B, updates int, every uint64) {
	const nodes, keys, samples = 10, 10_000, 10
	net := newCompactNet(b, nodes, 24*time.Hour, every)
	rng := rand.New(rand.NewPCG(1, 2))
	var logChanges, logBytes int
	var heap uint64
	for u := 1; u <= updates; u++ {
		net.phys.Advance(time.Millisecond)
		net.write(rng.IntN(nodes), "k"+strconv.Itoa(rng.IntN(keys)), int64(u))
		if u%10 == 0 {
			net.tick(0)
		}
		if u%(updates/samples) == 0 {
			logChanges, logBytes = 0, 0
			for _, nd := range net.nodes {
				c, by := nd.doc.doc.LogSize()
				logChanges, logBytes = logChanges+c, logBytes+by
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap = ms.HeapAlloc
			line := fmt.Sprintf("updates %8d: per node log %7d changes %6.1f MiB, heap %6.1f MiB per node",
				u, logChanges/nodes, float64(logBytes)/nodes/(1<<20), float64(heap)/nodes/(1<<20))
			b.Log(line)
			if os.Getenv("COMPACT_LONGRUN_UPDATES") != "" {
				fmt.Fprintln(os.Stderr, line) // progress of a long run, as it goes
			}
		}
	}
	b.ReportMetric(float64(logChanges)/nodes, "log-changes/node")
	b.ReportMetric(float64(heap)/nodes/(1<<20), "heap-MiB/node")
}

// The Node's tick compacts once the frontier moved by CompactOps: alone, the
// frontier is its own (durable) version. With a data directory the store
// gets a snapshot and its log is truncated, and a restart restores the same
// state from them.
func TestNodeCompactTick(t *testing.T) {
	ctx := context.Background()
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprintf("durable=%v", durable), func(t *testing.T) {
			dir := t.TempDir()
			cfg := LocalConfig()
			cfg.Name = "a"
			if durable {
				cfg = durableConfig("a", dir)
			}
			cfg.CompactOps = 20
			a := mustNew(t, cfg)
			defer a.Close()
			for i := range 10 {
				if err := a.Update(ctx, set(fmt.Sprintf("k%d", i), "v")); err != nil {
					t.Fatal(err)
				}
			}
			a.compactTick(ctx, 1)
			if st := a.Compaction(); st.Compactions != 0 {
				t.Fatalf("compacted after 10 operations with CompactOps 20: %+v", st)
			}
			for i := range 15 {
				if err := a.Update(ctx, set(fmt.Sprintf("k%d", i), "w")); err != nil {
					t.Fatal(err)
				}
			}
			a.compactTick(ctx, 2)
			a.wg.Wait() // the store compaction, if any
			st := a.Compaction()
			wantStore := uint64(0)
			if durable {
				wantStore = 1
			}
			if st.Compactions != 1 || st.StoreCompactions != wantStore || st.StoreErrors != 0 || st.LogChanges != 0 {
				t.Fatalf("compaction status %+v", st)
			}
			if v := a.Version(); !st.Floor.Covers(v) || !v.Covers(st.Floor) {
				t.Fatalf("floor %v, version %v", st.Floor, v)
			}
			if !durable {
				return
			}
			want := keysOf(t, a)
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			b := mustNew(t, durableConfig("a", dir))
			defer b.Close()
			if got := keysOf(t, b); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("restored %v, want %v", got, want)
			}
			if !b.Version().Covers(st.Floor) {
				t.Fatalf("restored version %v below the floor %v", b.Version(), st.Floor)
			}
		})
	}
}

// Nodes over memnet compact on their own ticks once every member's digest
// has shown the writes, and a node that joins afterwards is caught up with
// a snapshot plus the operations after it.
func TestNodeCompactionInCluster(t *testing.T) {
	c := newCluster(t, 11, func(cfg *Config) {
		cfg.Document = nil
		cfg.CompactOps = 30
	})
	c.start(3)
	ctx := context.Background()
	for round := range 20 {
		for _, n := range c.nodes {
			if err := n.Update(ctx, set(fmt.Sprintf("k%d", round%5), fmt.Sprintf("%s-%d", n.Name(), round))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitConverged(t, 20*time.Second, c.nodes)
	defer func() {
		if t.Failed() {
			for _, n := range c.nodes {
				t.Logf("%s: version %v, compaction %+v", n.Name(), n.Version(), n.Compaction())
			}
		}
	}()
	waitFor(t, 20*time.Second, "every node to compact", func() bool {
		for _, n := range c.nodes {
			if n.Compaction().Compactions == 0 {
				return false
			}
		}
		return true
	})
	for _, n := range c.nodes {
		st := n.Compaction()
		if len(st.Holding) != 2 || st.Floor.Total() < 30 {
			t.Fatalf("%s: compaction status %+v", n.Name(), st)
		}
	}
	late, err := c.add(c.testConfig("late"))
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 20*time.Second, c.nodes)
	if late.Status().SnapshotsMerged == 0 {
		t.Fatalf("the late node caught up without a snapshot: %+v", late.Status())
	}
}
