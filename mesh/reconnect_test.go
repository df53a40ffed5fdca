package mesh

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestReconnectorTargets(t *testing.T) {
	const seed = 11
	r := newReconnector(time.Second, 10*time.Second, seed)
	if _, _, ok := r.target(0); ok {
		t.Fatal("a target with nobody failed")
	}
	r.failed("b", "10.0.0.2:7946", 1000)
	r.failed("c", "10.0.0.3:7946", 2000)
	r.failed("d", "", 2000) // no address: nothing to join
	picked := map[string]string{}
	for range 50 {
		name, addr, ok := r.target(5000)
		if !ok {
			t.Fatalf("seed %d: no target", seed)
		}
		picked[name] = addr
	}
	if len(picked) != 2 || picked["b"] != "10.0.0.2:7946" || picked["c"] != "10.0.0.3:7946" {
		t.Fatalf("seed %d: picked %v, want b and c with their addresses", seed, picked)
	}
	r.forget("b") // it came back
	if name, _, _ := r.target(5000); name != "c" {
		t.Fatalf("picked %q after b rejoined, want c", name)
	}
	if _, _, ok := r.target(12_001); ok {
		t.Fatal("c still retried after the reconnect timeout")
	}
	for range 100 {
		if w := r.wait(); w < 500*time.Millisecond || w > 1500*time.Millisecond {
			t.Fatalf("seed %d: wait %v outside [0.5 s, 1.5 s]", seed, w)
		}
	}
	// The same seed and calls give the same choices.
	a, b := newReconnector(time.Second, time.Hour, seed), newReconnector(time.Second, time.Hour, seed)
	for i := range 5 {
		a.failed(fmt.Sprint(i), "x:1", 0)
		b.failed(fmt.Sprint(i), "x:1", 0)
	}
	for range 20 {
		na, _, _ := a.target(1)
		nb, _, _ := b.target(1)
		if na != nb || a.wait() != b.wait() {
			t.Fatalf("seed %d: two reconnectors with one seed disagree", seed)
		}
	}
	if off := newReconnector(0, time.Hour, seed); off.enabled() {
		t.Fatal("ReconnectInterval 0 does not disable")
	}
}

// TestNodeReconnectHealsSettledPartition holds a partition until both
// sides have declared each other dead and memberlist has stopped gossiping
// to the dead, heals the network, and expects the reconnector to rejoin
// the halves and anti-entropy to converge them.
func TestNodeReconnectHealsSettledPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a partition past memberlist's 15 s GossipToTheDeadTime")
	}
	t.Parallel()
	c := newCluster(t, 5, func(cfg *Config) { cfg.ReconnectInterval = 300 * time.Millisecond })
	c.start(4)
	left, right := c.nodes[:2], c.nodes[2:]
	if err := c.mnet.Partition([]string{left[0].Name(), left[1].Name()}, []string{right[0].Name(), right[1].Name()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "each side to declare the other dead", func() bool {
		for _, n := range c.nodes {
			if len(n.Members()) != 2 {
				return false
			}
		}
		return true
	})
	for i, n := range c.nodes {
		if err := n.Update(context.Background(), set(fmt.Sprintf("side%d", i), n.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// Hold the partition past memberlist's GossipToTheDeadTime (15 s in
	// the local profile): until then memberlist still gossips to dead
	// members while it has broadcasts queued, and that alone can merge
	// the halves. After it nothing but a Join does.
	<-time.After(16 * time.Second)
	c.mnet.Heal()
	waitFor(t, 60*time.Second, "the halves to rejoin", func() bool {
		for _, n := range c.nodes {
			if len(n.Members()) != 4 {
				return false
			}
		}
		return true
	})
	waitConverged(t, 30*time.Second, c.nodes)
	var attempts uint64
	for _, n := range c.nodes {
		attempts += n.reconnect.attempts.Load()
	}
	if attempts == 0 {
		t.Fatal("healed without a reconnection attempt")
	}
}
