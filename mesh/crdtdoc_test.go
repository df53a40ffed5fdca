package mesh

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/memnet"
)

// TestNodeCRDTConverges runs Nodes over the real crdt document: concurrent
// map writes, list appends and counter increments under 20% packet loss,
// then a node replaced by an empty one that catches up.
func TestNodeCRDTConverges(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Document = nil })
	c.start(5)
	if err := c.mnet.SetFaults(memnet.LinkFaults{Loss: 0.2}); err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[0].Update(context.Background(), func(d *draft.Draft) error {
		if err := d.Root().Set("items", draft.EmptyList()); err != nil {
			return err
		}
		return d.Root().Set("hits", draft.Int(0))
	}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 10*time.Second, c.nodes)
	for round := range 10 {
		for i, n := range c.nodes {
			if err := n.Update(context.Background(), func(d *draft.Draft) error {
				if err := d.Root().Set(fmt.Sprintf("k%d", round%3), draft.String(n.Name())); err != nil {
					return err
				}
				if err := d.List("items").Append(draft.Int(int64(10*round + i))); err != nil {
					return err
				}
				return d.Root().Increment("hits", draft.Int(1))
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitConverged(t, 20*time.Second, c.nodes)
	st := c.nodes[1].State()
	if items, _ := st.Get("items"); items.Len() != 50 {
		t.Fatalf("items has %d elements, want 50", items.Len())
	}

	// A replacement node with an empty document catches up.
	if _, err := c.add(c.testConfig("late")); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 20*time.Second, c.nodes)
}

func TestCRDTDocumentRefusesMismatchedHeader(t *testing.T) {
	clk, err := clock.New(clock.Config{Replica: 1, Physical: clock.NewManual(1000), MaxDrift: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := crdt.New(crdt.DefaultConfig(1, clk))
	if err != nil {
		t.Fatal(err)
	}
	src := NewDocument(doc, nil)
	ch, _, err := src.Update(set("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	clk2, _ := clock.New(clock.Config{Replica: 2, Physical: clock.NewManual(1000), MaxDrift: time.Second})
	doc2, _ := crdt.New(crdt.DefaultConfig(2, clk2))
	dst := NewDocument(doc2, nil)
	bad := ch
	bad.End = ch.End + 5
	if _, err := dst.Apply([]Change{bad}); err == nil {
		t.Fatal("a change whose header lies was accepted")
	}
	if a, err := dst.Apply([]Change{ch}); err != nil || a.Changes != 1 || len(a.Patches) != 1 {
		t.Fatalf("apply: %+v %v", a, err)
	}
	if !bytesEqual(src.Fingerprint(), dst.Fingerprint()) {
		t.Fatal("equal strategy tables, different fingerprints")
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestNodeQuarantinesFutureChanges: a node whose clock runs 5 s ahead
// writes; a peer with MaxDrift 500 ms holds the change in quarantine
// (not applied, not dropped) and applies it once its own clock catches up.
func TestNodeQuarantinesFutureChanges(t *testing.T) {
	const base = int64(1_800_000_000_000)
	ahead, behind := clock.NewManual(base+5000), clock.NewManual(base)
	c := newCluster(t, 1, func(cfg *Config) {
		cfg.Document = nil
		cfg.MaxDrift = 500 * time.Millisecond
	})
	cfgA := c.testConfig("ahead")
	cfgA.Physical = ahead
	cfgB := c.testConfig("behind")
	cfgB.Physical = behind
	for _, cfg := range []Config{cfgA, cfgB} {
		if _, err := c.add(cfg); err != nil {
			t.Fatal(err)
		}
	}
	c.waitMembers(c.nodes, 2)
	a, b := c.nodes[0], c.nodes[1]
	if err := a.Update(context.Background(), set("from", "the future")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the change to be quarantined", func() bool {
		return b.Status().Quarantined == 1
	})
	if _, ok := b.State().Get("from"); ok {
		t.Fatal("a change 5 s in the future was applied")
	}
	behind.Set(base + 5000)
	waitFor(t, 10*time.Second, "the quarantined change to be applied", func() bool {
		_, ok := b.State().Get("from")
		return ok && b.Status().Quarantined == 0
	})
}

// TestCRDTDocumentServesAppliedBytes: a change applied from its bytes is
// served to the next peer as the same bytes (the crdt log keeps them), and
// a truncated change is refused without stopping the others.
func TestCRDTDocumentServesAppliedBytes(t *testing.T) {
	newDoc := func(id clock.ReplicaID) LocalDocument {
		clk, err := clock.New(clock.Config{Replica: id, Physical: clock.NewManual(1000), MaxDrift: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := crdt.New(crdt.DefaultConfig(id, clk))
		if err != nil {
			t.Fatal(err)
		}
		return NewDocument(doc, nil)
	}
	src, mid := newDoc(1), newDoc(2)
	var sent []Change
	for i := range 3 {
		ch, _, err := src.Update(set(fmt.Sprint("k", i), "v"))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, ch)
	}
	broken := sent[1]
	broken.Data = broken.Data[:len(broken.Data)-1] // truncated
	if a, err := mid.Apply([]Change{sent[0], broken, sent[2]}); err == nil || a.Changes != 1 || a.Pending != 1 {
		t.Fatalf("apply with a broken change: %+v %v", a, err)
	}
	if a, err := mid.Apply([]Change{sent[1]}); err != nil || a.Changes != 2 {
		t.Fatalf("apply: %+v %v", a, err)
	}
	got, more, err := mid.ChangesSince(VersionVector{}, 0)
	if err != nil || more || len(got) != len(sent) {
		t.Fatalf("ChangesSince: %d changes, more %v, err %v", len(got), more, err)
	}
	for i := range sent {
		if got[i].Replica != sent[i].Replica || got[i].Start != sent[i].Start || got[i].End != sent[i].End || !bytesEqual(got[i].Data, sent[i].Data) {
			t.Fatalf("change %d served as %+v, sent as %+v", i, got[i], sent[i])
		}
	}
}
