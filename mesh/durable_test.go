package mesh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/memnet"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// durableConfig is a LocalConfig for a node with a data directory, not
// started (Update works before Start).
func durableConfig(name, dir string) Config {
	cfg := LocalConfig()
	cfg.Name, cfg.DataDir, cfg.MeshID = name, dir, []byte("test-mesh")
	return cfg
}

func mustNew(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// keysOf returns the state's top-level keys and string values.
func keysOf(t *testing.T, n *Node) map[string]string {
	t.Helper()
	return valueKeys(n.State())
}

// valueKeys returns a state's top-level keys and string values.
func valueKeys(st draft.Value) map[string]string {
	out := map[string]string{}
	for k := range st.Keys() {
		v, _ := st.Get(k)
		s, _ := v.AsString()
		out[k] = s
	}
	return out
}

func TestDurableRestartKeepsAcknowledgedUpdates(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := mustNew(t, durableConfig("a", dir))
	st0 := a.Status()
	if !st0.Durable || st0.Failure != "" {
		t.Fatalf("status of a durable node: %+v", st0)
	}
	want := map[string]string{}
	for i := range 50 {
		k, v := fmt.Sprintf("k%02d", i), fmt.Sprintf("v%d", i)
		if err := a.Update(ctx, set(k, v)); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	// Async updates from one goroutine, waited for in order.
	var ps []*Pending
	for i := range 50 {
		k, v := fmt.Sprintf("a%02d", i), fmt.Sprintf("w%d", i)
		p, err := a.UpdateAsync(ctx, set(k, v))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		want[k] = v
	}
	for _, p := range ps {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	replica, version := a.cfg.Replica, a.Version()
	if got := version[replica]; got != 100 {
		t.Fatalf("own version %d, want 100", got)
	}
	if st := a.Status(); st.UndurableOps != 0 || st.StoreWrites < 100 || st.StoreCommits == 0 {
		t.Fatalf("status after acknowledged updates: undurable %d, writes %d, commits %d", st.UndurableOps, st.StoreWrites, st.StoreCommits)
	}
	last := a.durable.clk.Last()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b := mustNew(t, durableConfig("a", dir))
	defer b.Close()
	if b.cfg.Replica != replica {
		t.Fatalf("replica after restart %s, want %s", b.cfg.Replica, replica)
	}
	if got := keysOf(t, b); !mapsEqual(got, want) {
		t.Fatalf("state after restart:\n got %v\nwant %v", got, want)
	}
	if v := b.Version(); !v.Covers(version) || !version.Covers(v) {
		t.Fatalf("version after restart %v, want %v", v, version)
	}
	if err := b.Update(ctx, set("after", "restart")); err != nil {
		t.Fatal(err)
	}
	if got := b.Version()[replica]; got != 101 {
		t.Fatalf("own version after one more update %d, want 101 (no sequence number reused)", got)
	}
	if now := b.durable.clk.Last(); now.Compare(last) <= 0 {
		t.Fatalf("clock after restart %s not past %s", now, last)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDurableConcurrentUpdatesAndWatchOrder: concurrent Update and
// UpdateAsync callers; every acknowledged update survives a restart, and a
// watcher sees local events in sequence order.
func TestDurableConcurrentUpdatesAndWatchOrder(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := mustNew(t, durableConfig("a", dir))
	wctx, stop := context.WithCancel(ctx)
	events := a.Watch(wctx)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ps []*Pending
			for i := range each {
				k := fmt.Sprintf("w%d-%02d", w, i)
				if w%2 == 0 {
					if err := a.Update(ctx, set(k, "x")); err != nil {
						t.Error(err)
					}
					continue
				}
				p, err := a.UpdateAsync(ctx, set(k, "x"))
				if err != nil {
					t.Error(err)
					continue
				}
				ps = append(ps, p)
			}
			for _, p := range ps {
				if err := p.Wait(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	seen := 0
	for seen < writers*each {
		select {
		case e := <-events:
			if !e.Local {
				t.Fatalf("remote event on a lone node: %+v", e)
			}
			seen += len(e.Patches)
		case <-time.After(10 * time.Second):
			t.Fatalf("saw %d local patches, want %d", seen, writers*each)
		}
	}
	stop()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, durableConfig("a", dir))
	defer b.Close()
	if n := len(keysOf(t, b)); n != writers*each {
		t.Fatalf("%d keys after restart, want %d", n, writers*each)
	}
}

// TestDurableRefusesDamagedOrForeignData: mesh.New fails with an error
// wrapping the store's, and leaves the file as it was.
func TestDurableRefusesDamagedOrForeignData(t *testing.T) {
	marker := "MARKER-0123456789"
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		tune   func(c *Config)
		want   error
	}{
		{name: "truncated file", want: store.ErrCorrupt, damage: func(t *testing.T, path string) {
			// Keep bbolt's two meta pages and a little more: the tree they
			// point to is cut off.
			if err := os.Truncate(path, 2*int64(os.Getpagesize())+512); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "checksum mismatch", want: store.ErrCorrupt, damage: func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte(marker))
			if i < 0 {
				t.Fatal("marker not found in the data file")
			}
			b[i+3] ^= 0x20
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "file from another mesh", want: store.ErrForeignMesh, tune: func(c *Config) { c.MeshID = []byte("other-mesh") }},
		{name: "another strategy table", want: store.ErrFingerprint, tune: func(c *Config) {
			c.Strategies = crdt.NewStrategies().MustSet("/n", crdt.Count())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := mustNew(t, durableConfig("a", dir))
			for i := range 20 {
				if err := a.Update(context.Background(), set(fmt.Sprintf("k%d", i), marker)); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, store.DataFile)
			if tc.damage != nil {
				tc.damage(t, path)
			}
			before := fileHash(t, path)
			cfg := durableConfig("a", dir)
			if tc.tune != nil {
				tc.tune(&cfg)
			}
			n, err := New(cfg)
			if err == nil {
				n.Close()
				t.Fatal("New accepted the data directory")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: %v, want %v", err, tc.want)
			}
			t.Logf("refused: %v", err)
			if after := fileHash(t, path); after != before {
				t.Fatal("New changed the refused data file")
			}
		})
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDurableReplicaMustMatch: a Config.Replica other than the stored one is
// a configuration error.
func TestDurableReplicaMustMatch(t *testing.T) {
	dir := t.TempDir()
	a := mustNew(t, durableConfig("a", dir))
	id := a.cfg.Replica
	a.Close()
	cfg := durableConfig("a", dir)
	cfg.Replica = id + 1
	if _, err := New(cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with another Replica: %v, want ErrConfig", err)
	}
	cfg.Replica = id
	b := mustNew(t, cfg)
	b.Close()
}

// TestDurableLostDirectoryIsANewReplica: a node whose data directory is lost
// comes back as a new replica and catches up from its peer, including its
// old replica's updates.
func TestDurableLostDirectoryIsANewReplica(t *testing.T) {
	c := newCluster(t, 7, func(c *Config) { c.Document = nil })
	dir := t.TempDir()
	cfg := c.testConfig("d")
	cfg.DataDir, cfg.Replica = dir, 0
	d, err := c.add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.add(c.testConfig("p")); err != nil {
		t.Fatal(err)
	}
	c.waitMembers(c.nodes, 2)
	ctx := context.Background()
	for i := range 10 {
		if err := d.Update(ctx, set(fmt.Sprintf("d%d", i), "old")); err != nil {
			t.Fatal(err)
		}
	}
	waitConverged(t, 10*time.Second, c.nodes)
	old := d.cfg.Replica
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = d.Leave(lctx)
	cancel()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	cfg2 := c.testConfig("d")
	cfg2.DataDir, cfg2.Replica = dir, 0
	d2, err := New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if d2.cfg.Replica == old {
		t.Fatalf("a lost data directory came back with the old replica id %s", old)
	}
	if len(keysOf(t, d2)) != 0 {
		t.Fatal("new replica is not empty")
	}
	c.nodes[0] = d2
	if err := d2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Join(ctx, []string{c.nodes[1].Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := d2.Update(ctx, set("new", "yes")); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 20*time.Second, c.nodes)
	if got := keysOf(t, d2); len(got) != 11 || got["d3"] != "old" {
		t.Fatalf("state of the new replica after catching up: %v", got)
	}
	if v := d2.Version(); v[old] != 10 || v[d2.cfg.Replica] != 1 {
		t.Fatalf("version %v: want the old replica at 10 and the new one at 1", v)
	}
}

// TestDurableUndurableChangesAreNotServed drives the document wrapper with
// Acks that do not complete: its own change is applied in memory but neither
// in its version vector nor in ChangesSince nor in a snapshot.
func TestDurableUndurableChangesAreNotServed(t *testing.T) {
	a := mustNew(t, durableConfig("a", t.TempDir()))
	defer a.Close()
	if err := a.Update(context.Background(), set("durable", "1")); err != nil {
		t.Fatal(err)
	}
	d := a.durable
	self := d.self
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, _, err := d.Update(set("not-yet", "2"))
	if err != nil {
		t.Fatal(err)
	}
	// Stand in for a write whose commit has not finished: an Ack that never
	// completes (its zero value).
	d.acks = append(d.acks, pendingWrite{end: ch.End, ack: &store.Ack{}})
	if v := d.Version(); v[self] != 1 {
		t.Fatalf("version shows own seq %d, want 1 (2 is not durable)", v[self])
	}
	if got := d.VersionOf(self); got != 1 {
		t.Fatalf("VersionOf(self) = %d, want 1 (2 is not durable)", got)
	}
	cs, more, err := d.ChangesSince(VersionVector{}, 1<<20)
	if err != nil || more || len(cs) != 1 || cs[0].End != 1 {
		t.Fatalf("ChangesSince(empty) = %d changes (more %v, err %v), want only the durable one", len(cs), more, err)
	}
	if cs, _, _ := d.ChangesSince(VersionVector{self: 1}, 1<<20); len(cs) != 0 {
		t.Fatalf("ChangesSince(self:1) served %d changes, want none", len(cs))
	}
	if st := a.doc.State(); st.Len() != 2 {
		t.Fatalf("the change should be applied in memory: %d keys", st.Len())
	}
	if d.undurable() != 1 {
		t.Fatalf("undurable %d, want 1", d.undurable())
	}
	d.acks = d.acks[:len(d.acks)-1] // let Close not wait for it
	d.durableSelf = ch.End
}

// TestDurableFailedStoreFailsClosed: after the store fails, Update returns
// ErrStorage and Status says why.
func TestDurableFailedStoreFailsClosed(t *testing.T) {
	a := mustNew(t, durableConfig("a", t.TempDir()))
	defer a.Close()
	ctx := context.Background()
	if err := a.Update(ctx, set("k", "v")); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.durable.fail(errors.New("disk on fire"))
	a.mu.Unlock()
	if err := a.Update(ctx, set("k2", "v")); !errors.Is(err, ErrStorage) {
		t.Fatalf("Update after a store failure: %v, want ErrStorage", err)
	}
	st := a.Status()
	if st.Failure == "" || st.StoreWriteErrors != 1 {
		t.Fatalf("status after failure: %q, %d errors", st.Failure, st.StoreWriteErrors)
	}
}

// remoteDoc returns a crdt document of another replica, to make remote
// changes and snapshots with.
func remoteDoc(t testing.TB, r clock.ReplicaID, pc clock.Physical) *crdt.Doc {
	t.Helper()
	clk, err := clock.New(clock.Config{Replica: r, Physical: pc, MaxDrift: clock.DefaultMaxDrift})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := crdt.New(crdt.DefaultConfig(r, clk))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestDurableRestartFromMergedSnapshot: a merged catch-up snapshot is
// stored (it is not in the log), and a restart restores snapshot plus the
// log after it.
func TestDurableRestartFromMergedSnapshot(t *testing.T) {
	const other = clock.ReplicaID(99)
	src := remoteDoc(t, other, clock.System())
	for i := range 10 {
		if _, err := src.Update(set(fmt.Sprintf("s%d", i), "snap")); err != nil {
			t.Fatal(err)
		}
	}
	data := crdt.EncodeSnapshot(src.Snapshot())

	dir := t.TempDir()
	ctx := context.Background()
	a := mustNew(t, durableConfig("a", dir))
	if err := a.Update(ctx, set("before", "1")); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	_, err := a.doc.MergeSnapshot(data)
	a.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Update(ctx, set("after", "2")); err != nil {
		t.Fatal(err)
	}
	want, version := keysOf(t, a), a.Version()
	if len(want) != 12 || version[other] != 10 {
		t.Fatalf("before restart: %v, version %v", want, version)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, durableConfig("a", dir))
	defer b.Close()
	if got := keysOf(t, b); !mapsEqual(got, want) {
		t.Fatalf("after restart:\n got %v\nwant %v", got, want)
	}
	if v := b.Version(); !v.Covers(version) || !version.Covers(v) {
		t.Fatalf("version after restart %v, want %v", v, version)
	}
}

// A durable node keeps many updates in flight with UpdateAsync (they share
// group commits) and comes back with them after a restart.
func ExampleNode_UpdateAsync() {
	dir, err := os.MkdirTemp("", "syncmesh-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := LocalConfig()
	cfg.Name, cfg.DataDir = "example", dir
	n, err := New(cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	var inflight []*Pending
	for i := range 100 {
		p, err := n.UpdateAsync(ctx, func(d *draft.Draft) error {
			return d.Root().Set(fmt.Sprintf("k%03d", i), draft.Int(int64(i)))
		})
		if err != nil {
			panic(err)
		}
		inflight = append(inflight, p)
	}
	for _, p := range inflight {
		if err := p.Wait(ctx); err != nil { // nil: durable
			panic(err)
		}
	}
	replica := n.Replica()
	n.Close()

	again, err := New(cfg)
	if err != nil {
		panic(err)
	}
	defer again.Close()
	fmt.Println(again.State().Len(), "keys; same replica:", again.Replica() == replica)
	// Output: 100 keys; same replica: true
}

// TestDurableRestartWithClockSetBack: stored remote changes that are now
// more than MaxDrift ahead of physical time (the clock was set back) are
// quarantined at restart, not a reason to refuse; own changes replay.
func TestDurableRestartWithClockSetBack(t *testing.T) {
	const t0 = int64(1_900_000_000_000)
	const other = clock.ReplicaID(99)
	pc := clock.NewManual(t0)
	src := remoteDoc(t, other, pc)
	remote, err := src.Update(set("remote", "r"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := durableConfig("a", dir)
	cfg.Physical = pc
	a := mustNew(t, cfg)
	if err := a.Update(context.Background(), set("own", "o")); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	_, err = a.doc.Apply([]Change{meshChange(remote)})
	a.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil { // flushes the remote write
		t.Fatal(err)
	}

	pc.Set(t0 - 10_000)
	b := mustNew(t, cfg)
	defer b.Close()
	if got := keysOf(t, b); len(got) != 1 || got["own"] != "o" {
		t.Fatalf("state with the clock set back: %v, want only the own key", got)
	}
	if q := len(b.durable.inner.doc.Quarantined()); q != 1 {
		t.Fatalf("quarantined %d, want 1", q)
	}
	pc.Set(t0 + 1_000)
	b.mu.Lock()
	_, err = b.doc.RetryQuarantined()
	b.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, b); len(got) != 2 {
		t.Fatalf("state once time caught up: %v", got)
	}
}

// TestDurableMetrics: a durable Node exports the store metrics (and a
// pedantic registry accepts what it describes and collects).
func TestDurableMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cfg := durableConfig("m", t.TempDir())
	cfg.Registerer = reg
	n := mustNew(t, cfg)
	defer n.Close()
	for i := range 3 {
		if err := n.Update(context.Background(), set(fmt.Sprintf("k%d", i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := gatherMetrics(t, reg)
	for name, want := range map[string]float64{
		"syncmesh_mesh_store_failed":             0,
		"syncmesh_mesh_undurable_ops":            0,
		"syncmesh_mesh_store_writes_total":       3,
		"syncmesh_mesh_store_write_errors_total": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if got["syncmesh_mesh_store_commits_total"] < 1 {
		t.Errorf("store_commits_total = %v, want >= 1", got["syncmesh_mesh_store_commits_total"])
	}
}

// TestDurableRemoteChangesSurviveRestart: remote changes are written as
// applied, including ones released from the pending buffer by a later
// call, and come back after a restart.
func TestDurableRemoteChangesSurviveRestart(t *testing.T) {
	const other = clock.ReplicaID(99)
	src := remoteDoc(t, other, clock.System())
	var cs []Change
	for i := range 5 {
		c, err := src.Update(set(fmt.Sprintf("r%d", i), "remote"))
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, meshChange(c))
	}
	dir := t.TempDir()
	a := mustNew(t, durableConfig("a", dir))
	a.mu.Lock()
	// 3..5 wait in the pending buffer; 1..2 release them.
	for _, batch := range [][]Change{{cs[4], cs[2], cs[3]}, {cs[1], cs[0]}} {
		if _, err := a.doc.Apply(batch); err != nil {
			a.mu.Unlock()
			t.Fatal(err)
		}
	}
	a.mu.Unlock()
	if v := a.Version(); v[other] != 5 {
		t.Fatalf("version %v, want %s at 5", v, other)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, durableConfig("a", dir))
	defer b.Close()
	if got := keysOf(t, b); len(got) != 5 || got["r4"] != "remote" {
		t.Fatalf("after restart: %v", got)
	}
	if v := b.Version(); v[other] != 5 {
		t.Fatalf("version after restart %v, want %s at 5", v, other)
	}
}

// TestDurableClusterRestart: three durable nodes on a lossy network write
// concurrently and converge; all three are closed and reopened on their
// data directories, alone, and each comes back with the converged state.
func TestDurableClusterRestart(t *testing.T) {
	const seed = 11
	t.Logf("memnet seed %d", seed)
	dirs := map[string]string{}
	c := newCluster(t, seed, func(cfg *Config) {
		cfg.Document, cfg.Replica = nil, 0
		cfg.DataDir, cfg.MeshID = t.TempDir(), []byte("test-mesh")
		dirs[cfg.Name] = cfg.DataDir
	})
	for _, name := range []string{"d0", "d1", "d2"} {
		if _, err := c.add(c.testConfig(name)); err != nil {
			t.Fatal(err)
		}
	}
	c.waitMembers(c.nodes, 3)
	if err := c.mnet.SetFaults(memnet.LinkFaults{Loss: 0.2, Reorder: 0.1, ReorderDelay: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, seed, c.nodes, 150)
	waitConverged(t, 30*time.Second, c.nodes)
	want, version := fingerprint(c.nodes[0]), c.nodes[0].Version()
	for _, n := range c.nodes {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for name, dir := range dirs {
		n := mustNew(t, durableConfig(name, dir))
		v := n.Version()
		got := fingerprint(n)
		n.Close()
		if !v.Covers(version) || !version.Covers(v) || got != want {
			t.Fatalf("%s after restart:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestDurableWatchOrder: a remote event that arrives while a local update
// waits for durability is delivered after it, in the document's order.
func TestDurableWatchOrder(t *testing.T) {
	ctx := context.Background()
	a := mustNew(t, durableConfig("a", t.TempDir()))
	defer a.Close()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events := a.Watch(wctx)

	a.mu.Lock()
	ch, ap, err := a.durable.Update(set("local", "1"))
	if err != nil {
		a.mu.Unlock()
		t.Fatal(err)
	}
	a.pubMu.Lock()
	a.pubQ = append(a.pubQ, &pendingUpdate{ack: &store.Ack{}, patches: ap.Patches}) // never completes
	a.pubMu.Unlock()
	remote := []draft.Patch{{Op: draft.OpAdd, Path: draft.Path{draft.Key("remote")}, Value: draft.String("2")}}
	out := Output{Applied: []Applied{{Changes: 1, Patches: remote}}}
	a.queueEvents(&out)
	a.mu.Unlock()
	if len(out.Applied) != 0 || len(a.pubQ) != 2 {
		t.Fatalf("remote event not queued behind the local update: %d left in out, %d queued", len(out.Applied), len(a.pubQ))
	}
	a.publish()
	select {
	case e := <-events:
		t.Fatalf("event %+v delivered while the local update is not durable", e)
	default:
	}

	mem, err := store.NewMemory(store.DefaultConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	done, err := mem.Write(ctx, store.Batch{Changes: []store.Change{store.Change(ch)}})
	if err != nil {
		t.Fatal(err)
	}
	a.pubMu.Lock()
	a.pubQ[0].ack = done
	a.pubMu.Unlock()
	a.publish()
	for i, wantLocal := range []bool{true, false} {
		select {
		case e := <-events:
			if e.Local != wantLocal {
				t.Fatalf("event %d: Local %v, want %v", i, e.Local, wantLocal)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not delivered", i)
		}
	}
}
