package memnet_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/syncmesh/syncmesh/mesh/memnet"
)

// eventually polls cond every 10ms until it holds or timeout passes.
// memberlist runs on wall-clock timers, so polling is the only option here.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what())
		}
		<-tick.C
	}
}

func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// logOut receives memberlist's logs; set MEMNET_LOG=1 to see them.
var logOut io.Writer = func() io.Writer {
	if os.Getenv("MEMNET_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}()

// fastConfig is memberlist's local config with timers shortened about
// fivefold. They stay loose enough for a loaded 2-core machine running
// -race, where goroutines can stall for a few hundred milliseconds.
func fastConfig(name string, tr memberlist.NodeAwareTransport) *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.Transport = tr
	c.Logger = log.New(logOut, name+" ", log.Lmicroseconds)
	c.ProbeInterval = 300 * time.Millisecond
	c.ProbeTimeout = 150 * time.Millisecond
	c.GossipInterval = 100 * time.Millisecond
	c.EnableCompression = false // saves CPU; memnet carries any size
	c.PushPullInterval = 2 * time.Second
	c.TCPTimeout = 2 * time.Second
	c.SuspicionMult = 3           // a suspect is declared dead after 0.9 s...
	c.SuspicionMaxTimeoutMult = 2 // ...to 1.8 s, not the default 6x
	// Long enough that nodes declared dead during a partition are still
	// gossiped to when it heals, so refutations cross over.
	c.GossipToTheDeadTime = 30 * time.Second
	return c
}

// timedTransport records the longest call into the transport, to prove
// that none blocks.
type timedTransport struct {
	*memnet.Transport
	longest *atomic.Int64 // nanoseconds
}

func (w timedTransport) record(start time.Time) {
	d := int64(time.Since(start))
	for {
		cur := w.longest.Load()
		if d <= cur || w.longest.CompareAndSwap(cur, d) {
			return
		}
	}
}

func (w timedTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	defer w.record(time.Now())
	return w.Transport.WriteToAddress(b, a)
}

func (w timedTransport) DialAddressTimeout(a memberlist.Address, d time.Duration) (net.Conn, error) {
	defer w.record(time.Now())
	return w.Transport.DialAddressTimeout(a, d)
}

type cluster struct {
	stopped sync.Once
	net     *memnet.Network
	nodes   []*memberlist.Memberlist
	addrs   []string
	longest atomic.Int64
}

// startCluster creates count memberlist nodes on a fresh Network with the
// given default faults and joins each to node 0 and an earlier node (joins
// use streams, which faults do not touch). Everything is shut down at the
// end of the test, or earlier by stop.
func startCluster(t testing.TB, count int, seed uint64, faults memnet.LinkFaults) *cluster {
	t.Helper()
	cfg := memnet.DefaultConfig()
	cfg.Seed = seed
	cfg.Faults = faults
	n, err := memnet.New(cfg)
	noErr(t, err, "memnet.New")
	c := &cluster{net: n}
	t.Cleanup(c.stop)
	for i := range count {
		tr, err := n.NewTransport(fmt.Sprintf("node-%02d", i))
		noErr(t, err, "NewTransport")
		m, err := memberlist.Create(fastConfig(tr.Name(), timedTransport{tr, &c.longest}))
		noErr(t, err, "memberlist.Create")
		c.nodes = append(c.nodes, m)
		c.addrs = append(c.addrs, tr.Addr())
	}
	for i, m := range c.nodes[1:] {
		// Join through the first node and a recent one, so no single node
		// serves every join's push/pull.
		seeds := []string{c.addrs[0]}
		if i/2 > 0 {
			seeds = append(seeds, c.addrs[i/2])
		}
		_, err := m.Join(seeds)
		noErr(t, err, fmt.Sprintf("node %d joining", i+1))
	}
	return c
}

// stop shuts every node down, then the network. It is idempotent.
func (c *cluster) stop() {
	c.stopped.Do(func() {
		var wg sync.WaitGroup
		for _, m := range c.nodes {
			wg.Go(func() { _ = m.Shutdown() })
		}
		wg.Wait()
		_ = c.net.Close()
	})
}

// waitMembers waits until every node in idx sees exactly want live members.
func (c *cluster) waitMembers(t testing.TB, idx []int, want int, timeout time.Duration, msg string) {
	t.Helper()
	eventually(t, timeout, func() bool {
		for _, i := range idx {
			if c.nodes[i].NumMembers() != want {
				return false
			}
		}
		return true
	}, func() string { return msg + ": " + c.view(idx) })
}

func (c *cluster) view(idx []int) string {
	s := "members seen:"
	for _, i := range idx {
		s += fmt.Sprintf(" %d:%d", i, c.nodes[i].NumMembers())
	}
	st := c.net.Stats()
	return s + fmt.Sprintf("; totals %+v, in flight %d", st.Total, st.InFlight)
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestMemberlistJoin(t *testing.T) {
	for _, size := range []int{5, 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := startCluster(t, size, 1, memnet.LinkFaults{})
			c.waitMembers(t, span(0, size), size, 10*time.Second, "full membership")
			st := c.net.Stats().Total
			t.Logf("%d nodes: %d packets sent, %d delivered, %d streams", size, st.PacketsSent, st.PacketsDelivered, st.StreamsOpened)
		})
	}
}

func TestMemberlistUnderLoss(t *testing.T) {
	const size = 20
	c := startCluster(t, size, 2, memnet.LinkFaults{Loss: 0.2})
	all := span(0, size)
	c.waitMembers(t, all, size, 15*time.Second, "full membership under 20% loss")
	// Keep probing and gossiping under loss for a while, then check the
	// membership is (again) full.
	eventually(t, 15*time.Second, func() bool { return c.net.Stats().Total.Dropped.Loss >= 300 },
		func() string { return fmt.Sprintf("only %d packets lost", c.net.Stats().Total.Dropped.Loss) })
	c.waitMembers(t, all, size, 15*time.Second, "full membership after 300 losses")
	st := c.net.Stats().Total
	t.Logf("loss drops %d of %d packets", st.Dropped.Loss, st.PacketsSent)
}

func TestMemberlistPartitionAndHeal(t *testing.T) {
	const size, half = 8, 4
	c := startCluster(t, size, 3, memnet.LinkFaults{})
	all, left, right := span(0, size), span(0, half), span(half, size)
	c.waitMembers(t, all, size, 10*time.Second, "full membership")

	var leftNames, rightNames []string
	for i := range size {
		name := fmt.Sprintf("node-%02d", i)
		if i < half {
			leftNames = append(leftNames, name)
		} else {
			rightNames = append(rightNames, name)
		}
	}
	noErr(t, c.net.Partition(leftNames, rightNames), "Partition")
	c.waitMembers(t, left, half, 15*time.Second, "left side drops the right")
	c.waitMembers(t, right, half, 15*time.Second, "right side drops the left")

	c.net.Heal()
	// memberlist never probes or push/pulls with nodes it has declared
	// dead and gossips to them only while broadcasts are queued, so once
	// the partition has settled an application must rejoin (as Serf's
	// reconnector does); one join across the healed link is enough for
	// refutations to spread both ways.
	_, err := c.nodes[0].Join([]string{c.addrs[half]})
	noErr(t, err, "rejoin")
	c.waitMembers(t, all, size, 15*time.Second, "merge after heal")
}

func TestMemberlistDetectsShutdown(t *testing.T) {
	const size = 5
	c := startCluster(t, size, 4, memnet.LinkFaults{})
	c.waitMembers(t, span(0, size), size, 10*time.Second, "full membership")
	start := time.Now()
	noErr(t, c.nodes[size-1].Shutdown(), "Shutdown")
	if d := time.Since(start); d > time.Second {
		t.Errorf("memberlist Shutdown took %v", d)
	}
	c.waitMembers(t, span(0, size-1), size-1, 10*time.Second, "dead node detected")
	longest := time.Duration(c.longest.Load())
	t.Logf("longest transport call: %v", longest)
	// The calls never wait; the bound only absorbs scheduling noise on a
	// loaded machine and stays far below ProbeTimeout+TCPTimeout.
	if longest > 250*time.Millisecond {
		t.Errorf("a transport call took %v", longest)
	}
	if st := c.net.Stats().Total; st.Dropped.Closed+st.StreamsRefused == 0 {
		t.Error("nobody tried to reach the dead node")
	}
}
