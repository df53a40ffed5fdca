package mesh

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// coreNet wires several Cores together in virtual time, with no goroutines.
// It models memberlist's gossip the way simulations will: each node keeps a
// transmit-limited broadcast queue and, every gossip round, piggybacks up to
// packetBytes of it on packets to fanout random peers. Packets and
// best-effort sends are lost with probability loss; reliable sends are not
// lost but are delayed and reordered; anything crossing a partition is
// dropped. Every message may be duplicated.
type coreNet struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	now  int64 // ms

	nodes      []*simNode
	inflight   []simMsg
	loss, dup  float64
	fanout     int
	packet     int
	retransmit int // retransmit multiplier, as memberlist's RetransmitMult
	cfg        CoreConfig
	trace      uint64 // hash of every delivery, for the determinism test
	nextID     clock.ReplicaID
	delivered  int
}

type simNode struct {
	name  string
	core  *Core
	doc   *fakeDoc
	group int // partition group
	queue []*simBroadcast
}

type simBroadcast struct {
	key       string
	msg       []byte
	transmits int
}

type simMsg struct {
	due  int64
	to   int
	from int
	msg  []byte
}

const stepMillis = 100

func newCoreNet(t *testing.T, seed uint64, n int, cfg CoreConfig) *coreNet {
	t.Helper()
	net := &coreNet{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 1)), now: 1_000_000,
		fanout: 3, packet: 1400, retransmit: 4, cfg: cfg, nextID: 1}
	for i := range n {
		net.nodes = append(net.nodes, &simNode{name: fmt.Sprintf("n%02d", i)})
	}
	for i := range n {
		net.restart(i)
	}
	return net
}

// restart replaces node i with an empty one (a new replica, as a node that
// lost its disk must be), keeping its name.
func (net *coreNet) restart(i int) {
	nd := net.nodes[i]
	nd.doc = newFakeDoc(net.nextID, func() int64 { return net.now })
	net.nextID++
	cfg := net.cfg
	cfg.Name = nd.name
	cfg.Seed = net.seed + uint64(i)*7919 + uint64(net.nextID)
	core, err := NewCore(cfg, nd.doc)
	if err != nil {
		net.t.Fatal(err)
	}
	nd.core, nd.queue = core, nil
	for _, o := range net.nodes {
		if o != nd {
			core.PeerUp(o.name)
		}
	}
}

func (net *coreNet) fatalf(format string, args ...any) {
	net.t.Helper()
	net.t.Fatalf("seed %d (rerun with MESH_SEED=%d): %s", net.seed, net.seed, fmt.Sprintf(format, args...))
}

// write makes node i set kv with a change padded by pad bytes.
func (net *coreNet) write(i, pad int, kv ...string) {
	nd := net.nodes[i]
	ch := nd.doc.update(pad, 0, kv...)
	net.handle(i, nd.core.Local(ch))
}

func (net *coreNet) handle(from int, out Output) {
	nd := net.nodes[from]
	for _, b := range out.Broadcasts {
		i := slices.IndexFunc(nd.queue, func(q *simBroadcast) bool { return q.key == b.Key })
		if i >= 0 {
			nd.queue[i] = &simBroadcast{key: b.Key, msg: b.Msg}
		} else {
			nd.queue = append(nd.queue, &simBroadcast{key: b.Key, msg: b.Msg})
		}
	}
	for _, s := range out.Sends {
		to := slices.IndexFunc(net.nodes, func(o *simNode) bool { return o.name == s.To })
		if to < 0 {
			net.fatalf("send to unknown peer %q", s.To)
		}
		if !s.Reliable && net.rng.Float64() < net.loss {
			continue
		}
		net.post(from, to, s.Msg, int64(net.rng.IntN(3))*stepMillis)
	}
	net.cfg.Outputs.Put(out) // nil pool: nothing
}

func (net *coreNet) post(from, to int, msg []byte, delay int64) {
	net.inflight = append(net.inflight, simMsg{due: net.now + delay, from: from, to: to, msg: msg})
	if net.rng.Float64() < net.dup {
		net.inflight = append(net.inflight, simMsg{due: net.now + delay + stepMillis, from: from, to: to, msg: msg})
	}
}

// gossip runs one gossip round on every node.
func (net *coreNet) gossip() {
	limit := net.retransmit * int(math.Ceil(math.Log10(float64(len(net.nodes)+1))))
	for i, nd := range net.nodes {
		if len(nd.queue) == 0 {
			continue
		}
		slices.SortStableFunc(nd.queue, func(a, b *simBroadcast) int { return cmp.Compare(a.transmits, b.transmits) })
		for range net.fanout {
			to := net.rng.IntN(len(net.nodes) - 1)
			if to >= i {
				to++
			}
			used := 0
			lost := net.rng.Float64() < net.loss
			for _, b := range nd.queue {
				if used+len(b.msg)+3 > net.packet {
					continue
				}
				used += len(b.msg) + 3
				b.transmits++
				if !lost {
					net.post(i, to, b.msg, 0)
				}
			}
		}
		nd.queue = slices.DeleteFunc(nd.queue, func(b *simBroadcast) bool { return b.transmits >= limit })
	}
}

// step advances virtual time by one step: gossip, deliver due messages in a
// random order, tick every core.
func (net *coreNet) step() {
	net.now += stepMillis
	net.gossip()
	var due []simMsg
	net.inflight = slices.DeleteFunc(net.inflight, func(m simMsg) bool {
		if m.due <= net.now {
			due = append(due, m)
			return true
		}
		return false
	})
	net.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	// Half the time a node takes all its messages of this step in one
	// ReceiveBatch, as the Node's loop does when its inbox has a backlog.
	batches := map[int][][]byte{}
	for _, m := range due {
		if net.nodes[m.from].group != net.nodes[m.to].group {
			continue
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d %d %d %x", net.trace, m.from, m.to, m.msg)
		net.trace = h.Sum64()
		net.delivered++
		if net.rng.IntN(2) == 0 {
			batches[m.to] = append(batches[m.to], m.msg)
			continue
		}
		out, err := net.nodes[m.to].core.Receive(net.now, m.msg)
		if err != nil && !errors.Is(err, ErrDecode) {
			net.t.Logf("node %d: %v", m.to, err)
		}
		net.handle(m.to, out)
	}
	for to := range net.nodes {
		if len(batches[to]) == 0 {
			continue
		}
		out, errs := net.nodes[to].core.ReceiveBatch(net.now, batches[to])
		for _, err := range errs {
			if !errors.Is(err, ErrDecode) {
				net.t.Logf("node %d: %v", to, err)
			}
		}
		net.handle(to, out)
	}
	for i, nd := range net.nodes {
		net.handle(i, nd.core.Tick(net.now))
	}
}

// converged reports whether every node holds the same state and version
// and nothing is pending.
func (net *coreNet) converged() bool {
	want := net.nodes[0].doc.digest()
	for _, nd := range net.nodes {
		if nd.doc.digest() != want || len(nd.doc.pending) > 0 || len(nd.doc.quarantine) > 0 {
			return false
		}
	}
	return true
}

// coverage returns the share of (node, operation) pairs delivered: applied
// or held in the pending buffer.
func (net *coreNet) coverage() float64 {
	all := VersionVector{}
	for _, nd := range net.nodes {
		for r, s := range nd.doc.vv {
			all[r] = max(all[r], s)
		}
	}
	var have uint64
	for _, nd := range net.nodes {
		have += nd.doc.vv.Total()
		held := map[seenKey]bool{}
		for _, ch := range nd.doc.pending {
			if k := (seenKey{replica: ch.Replica, seq: ch.Start}); !held[k] && ch.Start > nd.doc.vv[ch.Replica] {
				held[k] = true
				have += ch.End - ch.Start + 1
			}
		}
	}
	return float64(have) / float64(all.Total()*uint64(len(net.nodes)))
}

// runUntilConverged steps until converged, failing after maxSteps. It
// returns the steps taken.
func (net *coreNet) runUntilConverged(maxSteps int) int {
	net.t.Helper()
	for s := 0; s < maxSteps; s++ {
		if net.converged() {
			return s
		}
		net.step()
	}
	if !net.converged() {
		for _, nd := range net.nodes {
			net.t.Logf("%s pending=%d q=%d %s", nd.name, len(nd.doc.pending), len(nd.doc.quarantine), nd.doc.digest())
		}
		net.fatalf("not converged after %d steps", maxSteps)
	}
	return maxSteps
}

// testSeeds returns the seeds to run: MESH_SEED if set, else a few fixed
// ones (MESH_SEEDS=n runs n seeds, for longer local runs).
func testSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("MESH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return []uint64{v}
	}
	n := 3
	if s := os.Getenv("MESH_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

func TestCoreConverges(t *testing.T) {
	tests := []struct {
		name     string
		nodes    int
		loss     float64
		dup      float64
		pad      int // bytes added to each change: > FastPathBytes forces announce+fetch
		noAE     bool
		maxSteps int
	}{
		{name: "fast path, no loss", nodes: 10, noAE: true, maxSteps: 60},
		{name: "20% loss with duplicates", nodes: 12, loss: 0.2, dup: 0.1, maxSteps: 200},
		{name: "large changes announced and fetched", nodes: 8, pad: 3000, noAE: true, maxSteps: 60},
		{name: "large changes, 20% loss", nodes: 8, pad: 3000, loss: 0.2, maxSteps: 200},
	}
	for _, tc := range tests {
		for _, seed := range testSeeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				cfg := CoreConfig{}
				if tc.noAE {
					cfg.AntiEntropyMillis = math.MaxInt64 / 4
				}
				net := newCoreNet(t, seed, tc.nodes, cfg)
				net.loss, net.dup = tc.loss, tc.dup
				for w := range 60 {
					i := net.rng.IntN(tc.nodes)
					net.write(i, tc.pad, fmt.Sprintf("k%d", net.rng.IntN(10)), fmt.Sprintf("v%d", w))
					if w%3 == 0 {
						net.step()
					}
				}
				if tc.noAE {
					// Gossip alone is probabilistic: it must reach nearly
					// every node, and anti-entropy then finishes the job.
					for range 30 {
						net.step()
					}
					if cov := net.coverage(); cov < 0.97 {
						net.fatalf("gossip alone reached only %.3f of (node, op) pairs", cov)
					}
					for _, nd := range net.nodes {
						nd.core.cfg.AntiEntropyMillis = 1000
						nd.core.cfg.BusyAntiEntropyMillis = 250
						nd.core.lastAE = net.now - 1000
					}
				}
				steps := net.runUntilConverged(tc.maxSteps)
				t.Logf("seed %d: converged %d steps after the last write, %d deliveries", seed, steps, net.delivered)
				if tc.pad > 0 {
					var fetches uint64
					for _, nd := range net.nodes {
						fetches += nd.core.Stats().Fetches
					}
					if fetches == 0 {
						net.fatalf("large changes were not fetched")
					}
				}
			})
		}
	}
}

func TestCoreRepairsPartitionAndRestart(t *testing.T) {
	for _, seed := range testSeeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			net := newCoreNet(t, seed, 10, CoreConfig{})
			net.loss = 0.2
			// Partition into halves and write on both sides.
			for i, nd := range net.nodes {
				nd.group = i % 2
			}
			for w := range 80 {
				net.write(net.rng.IntN(10), 0, fmt.Sprintf("k%d", w%7), fmt.Sprintf("v%d", w))
				net.step()
			}
			if net.converged() {
				net.fatalf("converged across a partition")
			}
			for _, nd := range net.nodes {
				nd.group = 0
			}
			net.runUntilConverged(150)

			// A node restarts empty and catches up through anti-entropy.
			net.restart(3)
			if net.converged() {
				net.fatalf("empty node counts as converged")
			}
			net.runUntilConverged(100)
		})
	}
}

func TestCoreSnapshotCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold uint64
		floor     bool
	}{
		{name: "difference above threshold", threshold: 10},
		{name: "peer log compacted", threshold: 1 << 40, floor: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := testSeeds(t)[0]
			net := newCoreNet(t, seed, 4, CoreConfig{SnapshotMissingOps: tc.threshold, ChunkBytes: 512})
			for w := range 100 {
				net.write(w%3, 0, fmt.Sprintf("k%d", w), "v")
			}
			net.runUntilConverged(100)
			net.restart(3)
			if tc.floor {
				for _, nd := range net.nodes[:3] {
					nd.doc.floor = nd.doc.Version()
				}
			}
			net.runUntilConverged(100)
			var snaps uint64
			for _, nd := range net.nodes {
				snaps += nd.core.Stats().SnapshotsMerged
			}
			if snaps == 0 {
				net.fatalf("caught up without a snapshot")
			}
		})
	}
}

func TestCoreChunkedCatchUp(t *testing.T) {
	seed := testSeeds(t)[0]
	net := newCoreNet(t, seed, 3, CoreConfig{ChunkBytes: 256, ChunksPerReply: 2})
	for w := range 200 {
		net.write(w%2, 0, fmt.Sprintf("k%d", w), "v")
	}
	net.runUntilConverged(100)
	net.restart(2)
	net.runUntilConverged(200)
	st := net.nodes[2].core.Stats()
	if st.SnapshotsMerged != 0 || st.Received[TypeChanges] < 10 {
		net.fatalf("want a chunked catch-up, got %+v", st)
	}
}

// lossyRun runs 40 writes on 8 cores over a network losing loss of the
// messages and duplicating a tenth, to convergence, and returns the trace
// of deliveries and the first document's digest.
func lossyRun(t *testing.T, seed uint64, loss float64, cfg CoreConfig) (uint64, string) {
	net := newCoreNet(t, seed, 8, cfg)
	net.loss, net.dup = loss, 0.1
	for w := range 40 {
		net.write(net.rng.IntN(8), 0, fmt.Sprintf("k%d", w%5), fmt.Sprintf("v%d", w))
		net.step()
	}
	net.runUntilConverged(200)
	return net.trace, net.nodes[0].doc.digest()
}

func TestCoreDeterministic(t *testing.T) {
	t1, d1 := lossyRun(t, 42, 0.3, CoreConfig{})
	t2, d2 := lossyRun(t, 42, 0.3, CoreConfig{})
	if t1 != t2 || d1 != d2 {
		t.Fatalf("same seed, different runs: trace %x vs %x", t1, t2)
	}
}

func TestCoreQuarantineRetriedOnTick(t *testing.T) {
	net := newCoreNet(t, 1, 2, CoreConfig{})
	a, b := net.nodes[0], net.nodes[1]
	// Node a's change is stamped 5 s in the future of everyone's clock.
	ch := a.doc.update(0, net.now+5000, "k", "future")
	out, err := b.core.Receive(net.now, Encode(&ChangeMsg{Change: ch}))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Applied) != 0 || b.core.Stats().Quarantined != 1 {
		t.Fatalf("future change not quarantined: %+v %+v", out, b.core.Stats())
	}
	for range 60 {
		net.now += stepMillis
		b.core.Tick(net.now)
	}
	if b.doc.state["k"].Value != "future" || b.core.Stats().Quarantined != 0 {
		t.Fatalf("quarantined change not applied after time caught up: %+v", b.core.Stats())
	}
}

func TestCoreRejectsAndCounts(t *testing.T) {
	net := newCoreNet(t, 1, 2, CoreConfig{})
	c := net.nodes[0].core
	bad := [][]byte{
		nil,
		{9, 1},
		{ProtocolVersion, 200},
		{ProtocolVersion, byte(TypeChange), 0x94},
		Encode(&ChangeMsg{Change: Change{Replica: 5, Start: 1, End: 1, Data: []byte("not json")}}),
	}
	for _, b := range bad {
		out, err := c.Receive(net.now, b)
		if err == nil {
			t.Fatalf("%x accepted", b)
		}
		if len(out.Applied) != 0 {
			t.Fatalf("%x applied something", b)
		}
	}
	st := c.Stats()
	for _, r := range []RejectReason{RejectEmpty, RejectVersion, RejectType, RejectTruncated, RejectDocument} {
		if st.Rejected[r] != 1 {
			t.Errorf("rejected[%s] = %d, want 1 (%v)", r, st.Rejected[r], st.Rejected)
		}
	}
	if v := net.nodes[0].doc.Version(); len(v) != 0 {
		t.Fatalf("bad input moved the version: %v", v)
	}
}

func TestCoreConfigValidate(t *testing.T) {
	if _, err := NewCore(CoreConfig{}, newFakeDoc(1, nil)); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := NewCore(CoreConfig{Name: "a"}, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("nil doc: %v", err)
	}
	if _, err := NewCore(CoreConfig{Name: "a", ChunkBytes: -1}, newFakeDoc(1, nil)); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative size: %v", err)
	}
}

func TestCoreReceiveBatch(t *testing.T) {
	src := newFakeDoc(7, func() int64 { return 1000 })
	var msgs [][]byte
	for i := range 3 {
		msgs = append(msgs, Encode(&ChangeMsg{Change: src.update(0, 0, fmt.Sprintf("k%d", i), "v")}))
	}
	slices.Reverse(msgs) // out of order: the document buffers and drains
	msgs = append(msgs, []byte{9, 9}, msgs[0])
	doc := newFakeDoc(1, func() int64 { return 1000 })
	c, err := NewCore(CoreConfig{Name: "me"}, doc)
	if err != nil {
		t.Fatal(err)
	}
	out, errs := c.ReceiveBatch(1000, msgs)
	if len(errs) != 1 || !errors.Is(errs[0], ErrDecode) {
		t.Fatalf("errors %v, want one decode error", errs)
	}
	if doc.vv[7] != 3 || len(out.Broadcasts) != 3 || len(out.Applied) != 1 || out.Applied[0].Changes != 3 {
		t.Fatalf("version %v, %d broadcasts, applied %+v", doc.vv, len(out.Broadcasts), out.Applied)
	}
	if st := c.Stats(); st.Rejected[RejectVersion] != 1 || st.Received[TypeChange] != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// countTypes counts an Output's broadcasts and sends by message type.
func countTypes(out Output) map[MsgType]int {
	n := map[MsgType]int{}
	for _, b := range out.Broadcasts {
		n[peekType(b.Msg)]++
	}
	for _, s := range out.Sends {
		n[peekType(s.Msg)]++
	}
	return n
}

func TestCoreGossipBudget(t *testing.T) {
	now := int64(5000)
	doc := newFakeDoc(3, func() int64 { return now })
	c, err := NewCore(CoreConfig{Name: "me", GossipBytesPerSecond: 400}, doc)
	if err != nil {
		t.Fatal(err)
	}
	c.Tick(now)
	var keys []string
	types := map[MsgType]int{}
	for i := range 20 {
		out := c.Local(doc.update(0, 0, fmt.Sprintf("k%d", i), "v"))
		for _, b := range out.Broadcasts {
			keys = append(keys, b.Key)
			types[peekType(b.Msg)]++
		}
	}
	// About 400/size changes fit the budget; every later one is announced
	// under one key per replica, so the queue holds a single announcement.
	if types[TypeChange] == 0 || types[TypeChange] > 10 || types[TypeAnnounce] != 20-types[TypeChange] {
		t.Fatalf("broadcast types %v", types)
	}
	last := keys[len(keys)-1]
	if last != announceKey(3) {
		t.Fatalf("last key %q, want %q", last, announceKey(3))
	}
	if st := c.Stats(); st.Announced != uint64(types[TypeAnnounce]) {
		t.Fatalf("announced %d, want %d", st.Announced, types[TypeAnnounce])
	}
	// A second of core time refills the budget: the fast path is back.
	now += 1000
	c.Tick(now)
	if got := countTypes(c.Local(doc.update(0, 0, "k", "again"))); got[TypeChange] != 1 {
		t.Fatalf("after refill: %v", got)
	}
}

func TestCoreRepairDropsStaleAndAnnounces(t *testing.T) {
	src := newFakeDoc(7, func() int64 { return 1000 })
	var chs []Change
	for i := range 8 {
		chs = append(chs, src.update(0, 0, fmt.Sprintf("k%d", i), "v"))
	}
	doc := newFakeDoc(1, func() int64 { return 1000 })
	c, err := NewCore(CoreConfig{Name: "me"}, doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Apply(chs[:3]); err != nil {
		t.Fatal(err)
	}
	out, err := c.Receive(1000, Encode(&ChangesMsg{From: "peer", Changes: chs[:5]}))
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if doc.vv[7] != 5 || st.StaleChanges != 3 || st.AppliedChanges != 2 {
		t.Fatalf("version %v, stats %+v", doc.vv, st)
	}
	if len(out.Broadcasts) != 1 || out.Broadcasts[0].Key != announceKey(7) {
		t.Fatalf("broadcasts %+v, want one announcement of replica 7", out.Broadcasts)
	}
	m, err := Decode(out.Broadcasts[0].Msg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a := m.(*AnnounceMsg); a.From != "me" || a.Replica != 7 || a.Seq != 5 {
		t.Fatalf("announcement %+v", a)
	}
	// An announcement of what we hold is not fetched; a newer one is
	// fetched once while the fetch is outstanding.
	ann := func(seq uint64) []byte { return Encode(&AnnounceMsg{From: "peer", Replica: 7, Seq: seq}) }
	var fetches int
	for _, b := range [][]byte{ann(5), ann(6), ann(7), ann(8)} {
		out, err := c.Receive(1100, b)
		if err != nil {
			t.Fatal(err)
		}
		fetches += countTypes(out)[TypeFetch]
	}
	if fetches != 1 {
		t.Fatalf("%d fetches, want 1 while one is outstanding", fetches)
	}
	// The answer brings 6; the announcement of 8 heard meanwhile is
	// fetched at once.
	out, err = c.Receive(1200, Encode(&ChangesMsg{From: "peer", Changes: chs[5:6]}))
	if err != nil {
		t.Fatal(err)
	}
	var again *FetchMsg
	for _, s := range out.Sends {
		if m, err := Decode(s.Msg, 0); err == nil && m.Type() == TypeFetch {
			again = m.(*FetchMsg)
		}
	}
	if again == nil || again.Replica != 7 || again.After != 6 {
		t.Fatalf("after the answer: fetch %+v, want replica 7 after 6", again)
	}
	// That fetch goes unanswered; once it expires a new announcement is
	// fetched again.
	out, _ = c.Receive(1200+c.cfg.FetchTimeoutMillis, ann(8))
	if countTypes(out)[TypeFetch] != 1 {
		t.Fatal("no fetch after the outstanding one timed out")
	}
}

// peeredCore returns a core named "me" with cfg over an empty document of
// replica 1, one live peer "peer", and a source document of replica 7 to
// make remote changes with.
func peeredCore(t *testing.T, cfg CoreConfig) (src, doc *fakeDoc, c *Core) {
	t.Helper()
	src = newFakeDoc(7, func() int64 { return 0 })
	doc = newFakeDoc(1, func() int64 { return 0 })
	cfg.Name = "me"
	c, err := NewCore(cfg, doc)
	if err != nil {
		t.Fatal(err)
	}
	c.PeerUp("peer")
	return src, doc, c
}

func TestCoreBusyAntiEntropy(t *testing.T) {
	src, doc, c := peeredCore(t, CoreConfig{AntiEntropyMillis: 1000, BusyAntiEntropyMillis: 200})
	rounds := func(from, to int64) int {
		n := 0
		for now := from; now < to; now += 50 {
			n += countTypes(c.Tick(now))[TypeDigest]
		}
		return n
	}
	if n := rounds(10_000, 13_000); n < 2 || n > 4 {
		t.Fatalf("idle: %d rounds in 3 s, want about 3", n)
	}
	// A change received in order is no gap: rounds stay as they were.
	first, second, third := src.update(0, 0, "a", "1"), src.update(0, 0, "b", "2"), src.update(0, 0, "c", "3")
	if _, err := c.Receive(13_000, Encode(&ChangeMsg{Change: first})); err != nil {
		t.Fatal(err)
	}
	if n := rounds(13_000, 15_000); n > 3 {
		t.Fatalf("in order: %d rounds in 2 s, want about 2", n)
	}
	// A gap (the third change without the second) makes rounds frequent
	// while it lasts and for one interval after.
	if _, err := c.Receive(15_000, Encode(&ChangeMsg{Change: third})); err != nil {
		t.Fatal(err)
	}
	// The peer never answers, so each round holds the next back for
	// RepairTimeoutMillis (400 ms): still more often than one a second.
	if n := rounds(15_000, 16_000); n < 2 {
		t.Fatalf("with a gap: %d rounds in 1 s, want about 3", n)
	}
	if _, err := c.Receive(16_000, Encode(&ChangeMsg{Change: second})); err != nil {
		t.Fatal(err)
	}
	if doc.vv[7] != 3 {
		t.Fatalf("version %v after the gap closed", doc.vv)
	}
	rounds(16_000, 17_000)
	if n := rounds(17_000, 20_000); n > 4 {
		t.Fatalf("gap closed: %d rounds in 3 s, want about 3", n)
	}
}

// TestCoreRepairStreamInFlight checks that while an anti-entropy pull
// stream is in flight (chunks saying more follows keep arriving), no timer
// round starts another stream, and that the stream's end lets the next
// round go at once.
func TestCoreRepairStreamInFlight(t *testing.T) {
	src, _, c := peeredCore(t, CoreConfig{AntiEntropyMillis: 1000, BusyAntiEntropyMillis: 200})
	var chs []Change
	for i := range 6 {
		chs = append(chs, src.update(0, 0, fmt.Sprint("k", i), "v"))
	}
	// Find the first round.
	now := int64(10_000)
	for ; countTypes(c.Tick(now))[TypeDigest] == 0; now += 50 {
	}
	// Chunks with More every 300 ms (beyond the 200 ms busy interval,
	// within the 400 ms repair timeout) for 1.5 s: the pull continues by
	// digest, and no tick sends a round of its own.
	for i := range 5 {
		now += 300
		out, err := c.Receive(now, Encode(&ChangesMsg{From: "peer", Changes: chs[i : i+1], More: true}))
		if err != nil {
			t.Fatal(err)
		}
		if countTypes(out)[TypeDigest] != 1 {
			t.Fatalf("chunk %d with more: %v, want one digest", i, countTypes(out))
		}
		for tick := now; tick < now+300; tick += 50 {
			if n := countTypes(c.Tick(tick))[TypeDigest]; n != 0 {
				t.Fatalf("tick at %d during the stream sent %d digests", tick, n)
			}
		}
	}
	// The last chunk ends the stream; the round overdue goes at the next tick.
	now += 300
	if _, err := c.Receive(now, Encode(&ChangesMsg{From: "peer", Changes: chs[5:6]})); err != nil {
		t.Fatal(err)
	}
	if n := countTypes(c.Tick(now))[TypeDigest]; n != 1 {
		t.Fatalf("after the stream ended: %d digests, want 1", n)
	}
}

// TestCoreFetchContinuesByFetch checks that a fetch answer saying more
// follows is continued with a fetch for the same replica, not a digest
// that would pull every replica the peer has.
func TestCoreFetchContinuesByFetch(t *testing.T) {
	src, doc, c := peeredCore(t, CoreConfig{})
	var chs []Change
	for i := range 4 {
		chs = append(chs, src.update(0, 0, fmt.Sprint("k", i), "v"))
	}
	out, _ := c.Receive(1000, Encode(&AnnounceMsg{From: "peer", Replica: 7, Seq: 4}))
	if countTypes(out)[TypeFetch] != 1 {
		t.Fatalf("announce: %v, want one fetch", countTypes(out))
	}
	out, err := c.Receive(1100, Encode(&ChangesMsg{From: "peer", Changes: chs[:2], More: true}))
	if err != nil {
		t.Fatal(err)
	}
	var next *FetchMsg
	for _, s := range out.Sends {
		m, err := Decode(s.Msg, 0)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *FetchMsg:
			next = m
		case *DigestMsg:
			t.Fatal("a fetch answer was continued with a digest")
		}
	}
	if next == nil || next.Replica != 7 || next.After != 2 || s0(out) != "peer" {
		t.Fatalf("continuation %+v, want a fetch of replica 7 after 2 from peer", next)
	}
	// Another announcement meanwhile fetches nothing: the fetch is still
	// outstanding.
	if out, _ := c.Receive(1150, Encode(&AnnounceMsg{From: "other", Replica: 7, Seq: 4})); countTypes(out)[TypeFetch] != 0 {
		t.Fatal("a second fetch while the continued one is outstanding")
	}
	if _, err := c.Receive(1200, Encode(&ChangesMsg{From: "peer", Changes: chs[2:]})); err != nil {
		t.Fatal(err)
	}
	if doc.vv[7] != 4 {
		t.Fatalf("version %v, want replica 7 at 4", doc.vv)
	}
}

// s0 is the recipient of out's first send.
func s0(out Output) string {
	if len(out.Sends) == 0 {
		return ""
	}
	return out.Sends[0].To
}

// TestCoreFetchChunksOutOfOrder checks that a fetch answer's chunks are
// known as such in any order: a full middle chunk without More that
// already reaches the announced seq neither ends the answer's stream as a
// repair stream nor makes the chunk with More (arriving last) continue as
// a digest of every replica.
func TestCoreFetchChunksOutOfOrder(t *testing.T) {
	src, doc, c := peeredCore(t, CoreConfig{})
	var chs []Change
	for i := range 3 {
		chs = append(chs, src.update(0, 0, fmt.Sprint("k", i), "v"))
	}
	middle := &ChangesMsg{From: "peer", Changes: chs[:2]}
	c.cfg.ChunkBytes = len(chs[0].Data) + len(chs[1].Data) // the middle chunk is full
	if replyEnd(middle, c.cfg.ChunkBytes) {
		t.Fatal("a full chunk without More is taken for the end of the answer")
	}
	if out, _ := c.Receive(1000, Encode(&AnnounceMsg{From: "peer", Replica: 7, Seq: 2})); countTypes(out)[TypeFetch] != 1 {
		t.Fatal("no fetch for the announcement")
	}
	if _, err := c.Receive(1100, Encode(middle)); err != nil {
		t.Fatal(err)
	}
	out, err := c.Receive(1150, Encode(&ChangesMsg{From: "peer", Changes: chs[2:], More: true}))
	if err != nil {
		t.Fatal(err)
	}
	if n := countTypes(out); n[TypeDigest] != 0 || n[TypeFetch] != 1 {
		t.Fatalf("the chunk with More was answered with %v, want one fetch", n)
	}
	if doc.vv[7] != 3 {
		t.Fatalf("version %v", doc.vv)
	}
}

// TestCoreReceiveDecoded checks that handing the core decoded messages
// gives the same outputs and state as handing it the bytes, and leaves
// the messages as they were (they may be shared by many cores).
func TestCoreReceiveDecoded(t *testing.T) {
	src := newFakeDoc(7, func() int64 { return 0 })
	var chs []Change
	for i := range 5 {
		chs = append(chs, src.update(0, 0, fmt.Sprint("k", i), "v"))
	}
	raws := [][]byte{
		Encode(&ChangeMsg{Change: chs[1]}), // pending until the chunk brings 1
		Encode(&AnnounceMsg{From: "peer", Replica: 7, Seq: 5}),
		Encode(&ChangesMsg{From: "peer", Changes: []Change{chs[0], chs[1], chs[2]}}),
		Encode(&DigestMsg{From: "peer", Version: VersionVector{9: 1}, Reply: true}),
		{ProtocolVersion, 99}, // unknown type: rejected either way
	}
	_, docA, a := peeredCore(t, CoreConfig{Seed: 3})
	_, docB, b := peeredCore(t, CoreConfig{Seed: 3})
	outA, errsA := a.ReceiveBatch(1000, raws)
	var decoded []Received
	for _, r := range raws {
		m, _ := Decode(r, 0)
		decoded = append(decoded, Received{Raw: r, Msg: m})
	}
	before := make([][]byte, len(decoded))
	for i, d := range decoded {
		if d.Msg != nil {
			before[i] = Encode(d.Msg)
		}
	}
	outB, errsB := b.ReceiveDecoded(1000, decoded)
	if len(errsA) != 1 || len(errsB) != 1 {
		t.Fatalf("errors %v and %v, want one each", errsA, errsB)
	}
	if fmt.Sprint(countTypes(outA)) != fmt.Sprint(countTypes(outB)) || fmt.Sprint(docA.vv) != fmt.Sprint(docB.vv) || docB.vv[7] != 3 {
		t.Fatalf("bytes: %v %v; decoded: %v %v", countTypes(outA), docA.vv, countTypes(outB), docB.vv)
	}
	sa, sb := a.Stats(), b.Stats()
	if fmt.Sprint(sa.Received, sa.ReceivedBytes) != fmt.Sprint(sb.Received, sb.ReceivedBytes) {
		t.Fatalf("counted %v %v, want %v %v", sb.Received, sb.ReceivedBytes, sa.Received, sa.ReceivedBytes)
	}
	for i, d := range decoded {
		if d.Msg != nil && !bytes.Equal(Encode(d.Msg), before[i]) {
			t.Fatalf("message %d (%T) was modified", i, d.Msg)
		}
	}
	if _, errs := b.ReceiveDecoded(1000, []Received{{}}); len(errs) != 1 {
		t.Fatal("a nil message was not refused")
	}
}

// TestCoreReceiveDecodedShared delivers the same decoded messages to two
// cores, as the simulator does with a gossip packet, and checks that
// neither core changed them (a chunk holding changes the core already has
// is filtered, which once happened in place) and that each core ends as a
// core fed the bytes does.
func TestCoreReceiveDecodedShared(t *testing.T) {
	src := newFakeDoc(7, func() int64 { return 0 })
	var chs []Change
	for i := range 6 {
		chs = append(chs, src.update(0, 0, fmt.Sprint("k", i), "v"))
	}
	batches := [][][]byte{{
		Encode(&ChangeMsg{Change: chs[0]}),
		Encode(&ChangeMsg{Change: chs[2]}), // pending until the chunk brings 1
	}, {
		Encode(&AnnounceMsg{From: "peer", Replica: 7, Seq: 6}),
		// Starts with a change the core has by now: filtered out.
		Encode(&ChangesMsg{From: "peer", Changes: []Change{chs[0], chs[1], chs[2], chs[3]}}),
	}}
	shared := make([][]Received, len(batches))
	var before [][]byte
	for i, raws := range batches {
		for _, r := range raws {
			m, err := Decode(r, 0)
			if err != nil {
				t.Fatal(err)
			}
			shared[i] = append(shared[i], Received{Raw: r, Msg: m})
			before = append(before, Encode(m))
		}
	}
	_, docRef, ref := peeredCore(t, CoreConfig{Seed: 5})
	var want []string
	for i, raws := range batches {
		out, errs := ref.ReceiveBatch(int64(1000+i), raws)
		want = append(want, fmt.Sprint(countTypes(out), errs, docRef.vv))
	}
	for _, name := range []string{"a", "b"} {
		_, doc, c := peeredCore(t, CoreConfig{Seed: 5})
		for i, msgs := range shared {
			out, errs := c.ReceiveDecoded(int64(1000+i), msgs)
			if got := fmt.Sprint(countTypes(out), errs, doc.vv); got != want[i] {
				t.Fatalf("core %s batch %d: %s, bytes gave %s", name, i, got, want[i])
			}
		}
		if doc.vv[7] != 4 {
			t.Fatalf("core %s: version %v, want 7:4", name, doc.vv)
		}
		k := 0
		for _, msgs := range shared {
			for _, d := range msgs {
				if !bytes.Equal(Encode(d.Msg), before[k]) {
					t.Fatalf("core %s: message %d (%T) modified", name, k, d.Msg)
				}
				k++
			}
		}
	}
}
