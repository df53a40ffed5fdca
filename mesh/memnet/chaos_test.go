package memnet

import (
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestConcurrentChaos runs senders, dialers, topology and fault changes,
// Stats readers and node restarts at once (run it with -race), then checks
// that every packet copy was counted exactly once and nothing leaked.
func TestConcurrentChaos(t *testing.T) {
	const seed = 99
	n := newTestNet(t, func(c *Config) {
		c.Seed = seed
		c.PacketQueueLen = 32
		c.StreamQueueLen = 4
	})
	names := []string{"a", "b", "c", "d", "e"}
	trs := transports(t, n, names...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, tr := range trs {
		wg.Go(func() { // sender and reader
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				to, _ := n.Addr(names[r.IntN(len(names))]) // follows restarts
				_, _ = tr.WriteTo(make([]byte, 1+r.IntN(64)), to)
				if k%4 == 0 {
					drain(tr)
				}
			}
		})
		wg.Go(func() { // dialer and acceptor
			for {
				select {
				case <-stop:
					return
				case c := <-tr.StreamCh():
					go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
				default:
				}
				to := trs[(i+1)%len(trs)]
				if c, err := tr.DialTimeout(to.Addr(), time.Second); err == nil {
					_ = c.SetDeadline(time.Now().Add(10 * time.Millisecond))
					_, _ = c.Write([]byte("x"))
					_ = c.Close()
				}
			}
		})
	}
	// Topology and fault changes, and three restarts of node "e", while
	// the traffic above flows; then stop everything.
	r := rand.New(rand.NewPCG(seed, 100))
	e := trs[4]
	for k := range 400 {
		switch k % 5 {
		case 0:
			_ = n.Partition(names[:2], names[2:])
		case 1:
			n.Block(names[r.IntN(5)], names[r.IntN(5)])
		case 2:
			n.Isolate(names[r.IntN(5)])
		case 3:
			_ = n.SetFaults(LinkFaults{Loss: r.Float64() / 2, Duplicate: 0.2,
				Delay: time.Duration(r.IntN(2000)) * time.Microsecond, Jitter: time.Millisecond})
		case 4:
			n.Heal()
			_ = n.SetLinkFaults(names[r.IntN(5)], names[r.IntN(5)], LinkFaults{Reorder: 0.5, ReorderDelay: time.Millisecond})
		}
		_ = n.Stats()
		if k%100 == 99 {
			if err := e.Shutdown(); err != nil {
				t.Fatal(err)
			}
			var err error
			if e, err = n.NewTransport("e"); err != nil {
				t.Fatalf("restart at step %d: %v", k, err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	st := n.Stats()
	if st.InFlight != 0 {
		t.Errorf("%d copies in flight after Close", st.InFlight)
	}
	for name, s := range st.Nodes {
		if s.PacketsSent+s.Duplicated != s.PacketsDelivered+s.Dropped.Total() {
			t.Errorf("seed %d, %s: sent %d + dup %d != delivered %d + dropped %+v", seed, name,
				s.PacketsSent, s.Duplicated, s.PacketsDelivered, s.Dropped)
		}
	}
	t.Logf("%+v", st.Total)
}
