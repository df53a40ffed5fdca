package mesh

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// benchCluster starts n Nodes with LAN defaults on 127.0.0.1 (kernel-picked
// ports) over the real crdt document, fully joined.
func benchCluster(b *testing.B, n int, tune func(*Config)) []*Node {
	b.Helper()
	var nodes []*Node
	b.Cleanup(func() {
		for _, nd := range nodes {
			_ = nd.Close()
		}
	})
	for i := range n {
		cfg := LANConfig()
		cfg.Name = fmt.Sprintf("b%02d", i)
		cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
		cfg.Replica = clock.ReplicaID(i + 1)
		cfg.Seed = uint64(i + 1)
		if tune != nil {
			tune(&cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := nd.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, nd)
		if i > 0 {
			peers := []string{nodes[0].Addr()}
			if i > 1 {
				peers = append(peers, nodes[i-1].Addr())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := nd.Join(ctx, peers)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		full := true
		for _, nd := range nodes {
			if len(nd.Members()) != n {
				full = false
			}
		}
		if full {
			return nodes
		}
		if time.Now().After(deadline) {
			b.Fatalf("membership of %d nodes did not converge", n)
		}
		<-tick.C
	}
}

// epidemicRounds is the ideal number of gossip rounds for a rumour to reach
// n nodes with fanout k: log_{k+1}(n) + ln(n)/k.
func epidemicRounds(n, k int) float64 {
	return math.Log(float64(n))/math.Log(float64(k+1)) + math.Log(float64(n))/float64(k)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// BenchmarkPropagation measures, on loopback with LAN defaults, the time
// from a write on one node until every node has applied it (b.N writes,
// one at a time, from random nodes), and reports p50/p99 next to the
// epidemic bound for fanout 3 and a 200 ms gossip interval.
//
//	go test ./mesh/ -run '^$' -bench BenchmarkPropagation -benchtime 40x
func BenchmarkPropagation(b *testing.B) {
	for _, n := range []int{5, 20, 50} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			nodes := benchCluster(b, n, nil)
			type arrival struct {
				key  string
				node int
				at   time.Time
			}
			arrived := make(chan arrival, 4*n)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i, nd := range nodes {
				w := nd.Watch(ctx)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ev := range w {
						now := time.Now()
						for _, p := range ev.Patches {
							if len(p.Path) == 1 {
								arrived <- arrival{key: p.Path[0].Token(), node: i, at: now}
							}
						}
					}
				}()
			}
			defer func() { cancel(); wg.Wait() }()
			rng := rand.New(rand.NewPCG(1, 2))
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key := fmt.Sprintf("p%d", i)
				writer := nodes[rng.IntN(n)]
				start := time.Now()
				if err := writer.Update(ctx, func(d *draft.Draft) error {
					return d.Root().Set(key, draft.Int(int64(i)))
				}); err != nil {
					b.Fatal(err)
				}
				seen := map[int]bool{}
				var last time.Time
				timeout := time.After(30 * time.Second)
				for len(seen) < n {
					select {
					case a := <-arrived:
						if a.key == key && !seen[a.node] {
							seen[a.node] = true
							last = a.at
						}
					case <-timeout:
						b.Fatalf("write %d reached %d of %d nodes in 30 s", i, len(seen), n)
					}
				}
				lat = append(lat, last.Sub(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			bound := time.Duration(epidemicRounds(n, 3) * float64(200*time.Millisecond))
			b.ReportMetric(float64(percentile(lat, 0.5).Milliseconds()), "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Milliseconds()), "p99-ms")
			b.ReportMetric(float64(bound.Milliseconds()), "bound-ms")
		})
	}
}

// BenchmarkThroughput has 10 loopback nodes (LAN defaults) all writing at
// a fixed aggregate rate for 5 s (each write its own change, spread evenly
// over the nodes), then measures the convergence tail: the time from the
// writers stopping until every node's version vector equals the union of
// all of them. Each of b.N runs reuses the cluster; it reports the offered
// and applied rates of the last run and the tail's p50 and maximum over
// all runs. Per run it logs the offered rate, the writes applied on every
// node while writing (issue 5's throughput: the version vectors'
// intersection when the writers stop, per second of writing), the tail,
// and the older figure that divides by writing time plus tail.
//
//	go test ./mesh/ -run '^$' -bench BenchmarkThroughput -benchtime 3x -v
//
// rate=20000 is issue 5's acceptance point (>= 20,000 ops/s applied, tail
// <= 2 s); rate=40000 shows the headroom. doc=null (8-byte changes, O(1)
// apply) is a diagnostic of mesh and memberlist alone.
//
// SYNCMESH_BENCH_RATES=5000,20000 replaces the crdt rates (a loaded
// machine cannot offer 20,000 writes/s to ten nodes on two cores).
func BenchmarkThroughput(b *testing.B) {
	rates := []int{20_000, 40_000}
	if env := os.Getenv("SYNCMESH_BENCH_RATES"); env != "" {
		rates = rates[:0]
		for _, f := range strings.Split(env, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || r <= 0 {
				b.Fatalf("SYNCMESH_BENCH_RATES: bad rate %q", f)
			}
			rates = append(rates, r)
		}
	}
	for _, rate := range rates {
		b.Run(fmt.Sprintf("doc=crdt/rate=%d", rate), func(b *testing.B) { benchThroughput(b, rate, nil) })
	}
	b.Run("doc=null/rate=20000", func(b *testing.B) {
		benchThroughput(b, 20_000, func(cfg *Config) { cfg.Document = newNullDoc(cfg.Replica) })
	})
}

// throughputRun is one paced run's outcome.
type throughputRun struct {
	writes  int
	offered float64 // writes/s the writers managed
	// during is issue 5's throughput: the writes every node had applied
	// when the writers stopped (the intersection of the version vectors)
	// per second of writing.
	during float64
	// overall is the writes applied on every node per second from the
	// start to convergence (writing time plus tail): at a rate r it can
	// never reach r, so it is not the acceptance figure.
	overall float64
	tail    time.Duration // writers stopped until every node held every write
}

func benchThroughput(b *testing.B, rate int, tune func(*Config)) {
	const n = 10
	nodes := benchCluster(b, n, tune)
	b.ReportAllocs()
	b.ResetTimer()
	var runs []throughputRun
	for i := range b.N {
		r, ok := pacedRun(b, nodes, i, rate, 5*time.Second)
		if !ok {
			return
		}
		b.Logf("run %d: %d writes, offered %.0f/s, applied everywhere while writing %.0f/s, tail %v (applied incl. tail %.0f/s)",
			i, r.writes, r.offered, r.during, r.tail, r.overall)
		runs = append(runs, r)
	}
	b.StopTimer()
	tails := make([]time.Duration, len(runs))
	for i, r := range runs {
		tails[i] = r.tail
	}
	slices.Sort(tails)
	last := runs[len(runs)-1]
	b.ReportMetric(last.offered, "writes/s")
	b.ReportMetric(last.during, "applied-while-writing/s")
	b.ReportMetric(last.overall, "applied-incl-tail/s")
	b.ReportMetric(float64(percentile(tails, 0.5).Milliseconds()), "tail-p50-ms")
	b.ReportMetric(float64(tails[len(tails)-1].Milliseconds()), "tail-max-ms")
	var drops, pruned, errs uint64
	for _, nd := range nodes {
		st := nd.Status()
		drops += st.InboxDrops + st.SendDrops
		errs += st.SendErrors
		pruned += st.BroadcastPruned
		nd.mu.Lock()
		cs := nd.core.Stats()
		nd.mu.Unlock()
		b.Logf("%s: inbox drops %d, send drops %d, send errors %d, pruned %d, anti-entropy %d, received %v, sent %v; "+
			"core: applied %d, duplicates %d, stale in chunks %d, announced %d, fetches %d, not re-gossiped %d",
			nd.Name(), st.InboxDrops, st.SendDrops, st.SendErrors, st.BroadcastPruned, st.AntiEntropyRounds,
			st.ReceivedMessages, st.SentMessages,
			cs.AppliedChanges, cs.Duplicates, cs.StaleChanges, cs.Announced, cs.Fetches, cs.GossipDeferred)
	}
	b.ReportMetric(float64(drops), "drops")
	b.ReportMetric(float64(errs), "send-errors")
	b.ReportMetric(float64(pruned), "gossip-pruned")
}

// pacedRun has every node write rate/len(nodes) times a second for
// writeFor, then waits for convergence. Each writer catches up to its
// schedule every 5 ms, so the aggregate rate holds as long as Update keeps
// up. It reports false after failing the benchmark.
func pacedRun(b *testing.B, nodes []*Node, run, rate int, writeFor time.Duration) (throughputRun, bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	per := float64(rate) / float64(len(nodes))
	before := nodes[0].Version().Total() // the previous runs converged
	start := time.Now()
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			k := 0
			for {
				el := time.Since(start)
				if el >= writeFor {
					break
				}
				for due := int(el.Seconds() * per); k < due; k++ {
					key := fmt.Sprintf("w%d-%d", i, k%1000)
					if err := nd.Update(context.Background(), func(d *draft.Draft) error {
						return d.Root().Set(key, draft.Int(int64(run<<32|k)))
					}); err != nil {
						b.Error(err)
						return
					}
				}
				<-tick.C
			}
			mu.Lock()
			total += k
			mu.Unlock()
		}()
	}
	wg.Wait()
	stopped := time.Now()
	want := VersionVector{}
	var everywhere VersionVector
	for i, nd := range nodes {
		v := nd.Version()
		for r, s := range v {
			want[r] = max(want[r], s)
		}
		if i == 0 {
			everywhere = v
			continue
		}
		for r, s := range everywhere {
			everywhere[r] = min(s, v[r])
		}
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, nd := range nodes {
			if !nd.Version().Covers(want) {
				done = false
				break
			}
		}
		if done {
			break
		}
		if time.Since(stopped) > 60*time.Second {
			for _, nd := range nodes {
				st := nd.Status()
				b.Logf("%s: has %d of %d ops; pending %d quarantined %d inbox drops %d send drops %d errors %d pruned %d snapshots %d/%d rejected %v recv %v",
					nd.Name(), st.Version.Total(), want.Total(), st.Pending, st.Quarantined, st.InboxDrops, st.SendDrops, st.SendErrors,
					st.BroadcastPruned, st.SnapshotsSent, st.SnapshotsMerged, st.Rejected, st.ReceivedMessages)
			}
			b.Errorf("run %d: not converged 60 s after the writers stopped (%d writes at %d/s)", run, total, rate)
			return throughputRun{}, false
		}
		<-tick.C
	}
	converged := time.Now()
	return throughputRun{
		writes:  total,
		offered: float64(total) / stopped.Sub(start).Seconds(),
		during:  float64(everywhere.Total()-before) / stopped.Sub(start).Seconds(),
		overall: float64(total) / converged.Sub(start).Seconds(),
		tail:    converged.Sub(stopped),
	}, true
}

// BenchmarkCRDTDecodeChange measures decoding one gossiped single-write
// change, the per-change cost every receiving node pays.
//
//	go test ./mesh/ -run '^$' -bench BenchmarkCRDTDecodeChange
func BenchmarkCRDTDecodeChange(b *testing.B) {
	src := newCRDTBenchDoc(b, 1)
	ch, _, err := src.Update(set("key", "value"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crdt.DecodeChange(ch.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCRDTApplyRemote measures applying remote single-write changes
// (1,000 keys) through the adapter, one change per call as the gossip path
// does without a backlog.
//
//	go test ./mesh/ -run '^$' -bench BenchmarkCRDTApplyRemote
func BenchmarkCRDTApplyRemote(b *testing.B) {
	src := newCRDTBenchDoc(b, 1)
	chs := make([]Change, 0, 10_000)
	for i := range cap(chs) {
		ch, _, err := src.Update(set(fmt.Sprintf("k%d", i%1000), fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		chs = append(chs, ch)
	}
	b.ReportAllocs()
	dst := newCRDTBenchDoc(b, 2)
	i := 0
	for b.Loop() {
		if i == len(chs) {
			b.StopTimer()
			dst, i = newCRDTBenchDoc(b, 2), 0
			b.StartTimer()
		}
		if _, err := dst.Apply(chs[i : i+1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func newCRDTBenchDoc(b *testing.B, r clock.ReplicaID) LocalDocument {
	b.Helper()
	clk, err := clock.New(clock.Config{Replica: r, Physical: clock.System(), MaxDrift: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	d, err := crdt.New(crdt.DefaultConfig(r, clk))
	if err != nil {
		b.Fatal(err)
	}
	return NewDocument(d, nil)
}
