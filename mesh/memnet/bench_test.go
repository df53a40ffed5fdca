package memnet_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/mesh/memnet"
)

// BenchmarkWriteTo measures the packet hot path: fault decisions, copy and
// delivery into the receiver's queue (which the benchmark drains).
func BenchmarkWriteTo(b *testing.B) {
	for _, tc := range []struct {
		name   string
		faults memnet.LinkFaults
	}{
		{"perfect", memnet.LinkFaults{}},
		{"loss+dup", memnet.LinkFaults{Loss: 0.1, Duplicate: 0.1, Burst: memnet.GilbertElliott{GoodToBad: 0.01, BadToGood: 0.3, LossBad: 1}}},
		{"delayed", memnet.LinkFaults{Delay: 100 * time.Microsecond, Jitter: 50 * time.Microsecond}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := memnet.DefaultConfig()
			cfg.Faults = tc.faults
			cfg.PacketQueueLen = 1 << 16
			n, err := memnet.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			src, _ := n.NewTransport("src")
			dst, _ := n.NewTransport("dst")
			buf := make([]byte, 512)
			addr := dst.Addr()
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-dst.PacketCh():
					case <-stop:
						return
					}
				}
			}()
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := src.WriteTo(buf, addr); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			<-done
		})
	}
}

// BenchmarkMemberlistConverge measures how long real memberlist nodes take
// to reach full membership over memnet after joining node 0, with the test
// timers of memberlist_test.go.
func BenchmarkMemberlistConverge(b *testing.B) {
	for _, size := range []int{20, 100} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			for b.Loop() {
				c := startCluster(b, size, 1, memnet.LinkFaults{})
				c.waitMembers(b, span(0, size), size, 60*time.Second, "full membership")
				c.stop()
			}
		})
	}
}
