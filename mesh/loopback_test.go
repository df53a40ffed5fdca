package mesh

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// TestNodeLoopbackEncrypted runs five real memberlist nodes over UDP and
// TCP on 127.0.0.1 (ports picked by the kernel) with AES-GCM encryption
// and a label, makes concurrent writes and waits until all converge.
func TestNodeLoopbackEncrypted(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets")
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	var nodes []*Node
	t.Cleanup(func() {
		for _, n := range nodes {
			_ = n.Close()
		}
	})
	for i := range 5 {
		cfg := LocalConfig()
		cfg.Name = fmt.Sprintf("lo%d", i)
		cfg.Document = newFakeDoc(clock.ReplicaID(i+1), clock.System().NowMillis)
		cfg.SecretKeys = [][]byte{key}
		cfg.Label = "loopback-test"
		cfg.AntiEntropyInterval = 300 * time.Millisecond
		cfg.Seed = uint64(i + 1)
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		if i > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := n.Join(ctx, []string{nodes[0].Addr()})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 10*time.Second, "5 members everywhere", func() bool {
		for _, n := range nodes {
			if len(n.Members()) != 5 {
				return false
			}
		}
		return true
	})
	writeRandom(t, 3, nodes, 100)
	waitConverged(t, 15*time.Second, nodes)
	for _, n := range nodes {
		st := n.Status()
		if st.Version.Total() != 100 || len(st.Rejected) != 0 {
			t.Fatalf("%s: status %+v", n.Name(), st)
		}
	}
}
