package memnet

import (
	"bytes"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestPacketDelivery(t *testing.T) {
	n := newTestNet(t, nil)
	tr := transports(t, n, "a", "b")
	a, b := tr[0], tr[1]
	if a.Addr() == b.Addr() {
		t.Fatalf("both transports have address %s", a.Addr())
	}
	buf := []byte("hello")
	before := time.Now()
	sent, err := a.WriteTo(buf, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	buf[0] = 'j' // the network must have copied it
	p := receive(t, b, 1, time.Second)[0]
	if string(p.Buf) != "hello" {
		t.Errorf("Buf = %q, want hello", p.Buf)
	}
	if p.From.String() != a.Addr() {
		t.Errorf("From = %s, want %s", p.From, a.Addr())
	}
	if p.Timestamp.Before(before) || sent.Before(before) {
		t.Errorf("Timestamp %v / sent %v earlier than %v", p.Timestamp, sent, before)
	}
	ip, port, err := a.FinalAdvertiseAddr("", 0)
	if err != nil || net.JoinHostPort(ip.String(), strconv.Itoa(port)) != a.Addr() {
		t.Errorf("FinalAdvertiseAddr = %v, %d, %v; want %s", ip, port, err, a.Addr())
	}
	st := n.Stats()
	if got := st.Nodes["a"]; got.PacketsSent != 1 || got.PacketsDelivered != 1 || got.BytesSent != 5 {
		t.Errorf("a stats = %+v", got)
	}
	if got := st.Nodes["b"]; got.PacketsReceived != 1 || got.BytesReceived != 5 {
		t.Errorf("b stats = %+v", got)
	}
}

func TestUniformLossRate(t *testing.T) {
	const count = 10000
	for _, loss := range []float64{0, 0.05, 0.2, 0.5, 1} {
		t.Run("", func(t *testing.T) {
			n := newTestNet(t, func(c *Config) {
				c.PacketQueueLen = count
				c.Faults.Loss = loss
			})
			tr := transports(t, n, "a", "b")
			sendSeq(t, tr[0], tr[1], count)
			got := len(drain(tr[1]))
			rate := 1 - float64(got)/count
			if math.Abs(rate-loss) > 0.02 {
				t.Errorf("loss %v: measured %v over %d packets (seed 42)", loss, rate, count)
			}
			st := n.Stats().Nodes["a"]
			if st.Dropped.Loss+st.PacketsDelivered != count || st.Dropped.Loss != uint64(count-got) {
				t.Errorf("loss %v: stats %+v, received %d", loss, st, got)
			}
		})
	}
}

// TestBurstLoss checks the Gilbert–Elliott model's loss rate and that its
// losses come in runs of mean length 1/BadToGood, unlike uniform loss.
func TestBurstLoss(t *testing.T) {
	const count = 20000
	ge := GilbertElliott{GoodToBad: 0.05, BadToGood: 0.25, LossGood: 0, LossBad: 1}
	n := newTestNet(t, func(c *Config) {
		c.PacketQueueLen = count
		c.Faults.Burst = ge
	})
	tr := transports(t, n, "a", "b")
	sendSeq(t, tr[0], tr[1], count)
	lost := make([]bool, count)
	for i := range lost {
		lost[i] = true
	}
	for _, p := range drain(tr[1]) {
		lost[packetSeq(p)] = false
	}
	var losses, runs int
	for i, l := range lost {
		if l {
			losses++
			if i == 0 || !lost[i-1] {
				runs++
			}
		}
	}
	wantRate := ge.GoodToBad / (ge.GoodToBad + ge.BadToGood) // stationary share of bad
	rate := float64(losses) / count
	meanRun := float64(losses) / float64(runs)
	t.Logf("seed 42: loss %.3f (want %.3f), mean burst %.2f (want %.2f)", rate, wantRate, meanRun, 1/ge.BadToGood)
	if math.Abs(rate-wantRate) > 0.03 {
		t.Errorf("loss rate %.3f, want %.3f ± 0.03", rate, wantRate)
	}
	if meanRun < 3 || meanRun > 5 {
		t.Errorf("mean burst length %.2f, want about %.1f", meanRun, 1/ge.BadToGood)
	}
}

func TestDuplication(t *testing.T) {
	const count = 10000
	n := newTestNet(t, func(c *Config) {
		c.PacketQueueLen = 2 * count
		c.Faults.Duplicate = 0.3
	})
	tr := transports(t, n, "a", "b")
	sendSeq(t, tr[0], tr[1], count)
	got := drain(tr[1])
	st := n.Stats().Nodes["a"]
	if len(got) != count+int(st.Duplicated) {
		t.Fatalf("received %d, want %d + %d duplicates", len(got), count, st.Duplicated)
	}
	if d := float64(st.Duplicated) / count; math.Abs(d-0.3) > 0.02 {
		t.Errorf("duplicated share %.3f, want 0.3 ± 0.02 (seed 42)", d)
	}
	seen := make(map[int]int)
	for _, p := range got {
		seen[packetSeq(p)]++
	}
	if len(seen) != count {
		t.Errorf("%d distinct packets, want %d", len(seen), count)
	}
}

// TestDeterminism: the same seed and the same sends give the same fate to
// every packet; another seed does not.
func TestDeterminism(t *testing.T) {
	faults := LinkFaults{Loss: 0.2, Duplicate: 0.2, Burst: GilbertElliott{GoodToBad: 0.1, BadToGood: 0.5, LossBad: 0.9}}
	run := func(seed uint64) []int {
		n := newTestNet(t, func(c *Config) { c.Seed = seed; c.Faults = faults })
		tr := transports(t, n, "a", "b")
		sendSeq(t, tr[0], tr[1], 1000)
		var seqs []int
		for _, p := range drain(tr[1]) {
			seqs = append(seqs, packetSeq(p))
		}
		return seqs
	}
	a, b, c := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 gave two different outcomes")
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same outcome")
	}
}

func TestDelayKeepsOrderAndTimestamps(t *testing.T) {
	const delay = 20 * time.Millisecond
	n := newTestNet(t, func(c *Config) { c.Faults.Delay = delay })
	tr := transports(t, n, "a", "b")
	start := time.Now()
	sendSeq(t, tr[0], tr[1], 50)
	got := receive(t, tr[1], 50, 5*time.Second)
	for i, p := range got {
		if packetSeq(p) != i {
			t.Fatalf("packet %d arrived at position %d: equal delays must keep order", packetSeq(p), i)
		}
		if p.Timestamp.Sub(start) < delay {
			t.Fatalf("packet %d delivered after %v, want >= %v", i, p.Timestamp.Sub(start), delay)
		}
	}
}

func TestShorterDelayOvertakes(t *testing.T) {
	n := newTestNet(t, nil)
	tr := transports(t, n, "a", "b")
	if err := n.SetLinkFaults("a", "b", LinkFaults{Delay: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	sendSeq(t, tr[0], tr[1], 1) // packet 0, slow
	n.ClearLinkFaults("a", "b")
	if _, err := tr[0].WriteTo(seqPacket(1), tr[1].Addr()); err != nil { // packet 1, immediate
		t.Fatal(err)
	}
	got := receive(t, tr[1], 2, 5*time.Second)
	if packetSeq(got[0]) != 1 || packetSeq(got[1]) != 0 {
		t.Fatalf("order %d, %d; want 1, 0", packetSeq(got[0]), packetSeq(got[1]))
	}
}

func TestJitterAndReorder(t *testing.T) {
	tests := []struct {
		name   string
		faults LinkFaults
	}{
		{"uniform jitter", LinkFaults{Delay: 5 * time.Millisecond, Jitter: 5 * time.Millisecond}},
		{"normal jitter", LinkFaults{Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond, JitterDist: Normal}},
		{"reorder", LinkFaults{Reorder: 0.3, ReorderDelay: 10 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const count = 200
			n := newTestNet(t, func(c *Config) { c.Faults = tc.faults })
			tr := transports(t, n, "a", "b")
			sendSeq(t, tr[0], tr[1], count)
			got := receive(t, tr[1], count, 5*time.Second)
			inversions := 0
			seen := make(map[int]bool)
			for i, p := range got {
				seen[packetSeq(p)] = true
				if i > 0 && packetSeq(p) < packetSeq(got[i-1]) {
					inversions++
				}
			}
			if len(seen) != count {
				t.Errorf("%d distinct packets, want %d", len(seen), count)
			}
			if inversions == 0 {
				t.Errorf("no packet arrived out of order")
			}
		})
	}
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	n := newTestNet(t, func(c *Config) { c.PacketQueueLen = 4 })
	tr := transports(t, n, "a", "b")
	sendSeq(t, tr[0], tr[1], 10) // nobody reads b: must not block
	if got := len(drain(tr[1])); got != 4 {
		t.Errorf("received %d, want 4", got)
	}
	st := n.Stats().Nodes["a"]
	if st.Dropped.QueueFull != 6 || st.PacketsDelivered != 4 {
		t.Errorf("stats %+v, want 6 queue-full drops and 4 deliveries", st)
	}
}

func TestOversizeDrop(t *testing.T) {
	n := newTestNet(t, func(c *Config) { c.MaxPacketSize = 100 })
	tr := transports(t, n, "a", "b")
	for _, size := range []int{100, 101, 5000} {
		if _, err := tr[0].WriteTo(bytes.Repeat([]byte{1}, size), tr[1].Addr()); err != nil {
			t.Fatal(err)
		}
	}
	if got := drain(tr[1]); len(got) != 1 || len(got[0].Buf) != 100 {
		t.Errorf("received %d packets, want the 100-byte one only", len(got))
	}
	if st := n.Stats().Nodes["a"]; st.Dropped.Oversize != 2 {
		t.Errorf("Oversize = %d, want 2", st.Dropped.Oversize)
	}
}

func TestUnknownAndBadAddress(t *testing.T) {
	n := newTestNet(t, nil)
	a := transports(t, n, "a")[0]
	if _, err := a.WriteTo([]byte{1}, "10.200.0.1:7946"); err != nil {
		t.Errorf("WriteTo unknown address: %v, want nil (UDP semantics)", err)
	}
	if st := n.Stats().Nodes["a"]; st.Dropped.NoRoute != 1 {
		t.Errorf("NoRoute = %d, want 1", st.Dropped.NoRoute)
	}
	if _, err := a.WriteTo([]byte{1}, "not-an-address"); err == nil {
		t.Errorf("WriteTo bad address: no error")
	}
}

// TestAccounting sends random traffic through every kind of fault and
// checks that each copy is counted exactly once.
func TestAccounting(t *testing.T) {
	n := newTestNet(t, func(c *Config) {
		c.PacketQueueLen = 64
		c.MaxPacketSize = 900
		c.Faults = LinkFaults{Loss: 0.1, Duplicate: 0.1, Delay: time.Millisecond, Jitter: time.Millisecond,
			Reorder: 0.1, ReorderDelay: 2 * time.Millisecond,
			Burst: GilbertElliott{GoodToBad: 0.1, BadToGood: 0.3, LossBad: 0.8}}
	})
	names := []string{"a", "b", "c", "d"}
	tr := transports(t, n, names...)
	n.Block("a", "b")
	var wg sync.WaitGroup
	for i, from := range tr {
		wg.Go(func() {
			for k := range 500 {
				to := tr[(i+1+k%3)%len(tr)]
				_, _ = from.WriteTo(make([]byte, 100*(k%10+1)), to.Addr())
			}
		})
	}
	wg.Wait()
	if err := tr[3].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, n, 5*time.Second)
	st := n.Stats()
	for _, name := range names {
		s := st.Nodes[name]
		if s.PacketsSent+s.Duplicated != s.PacketsDelivered+s.Dropped.Total() {
			t.Errorf("%s: sent %d + dup %d != delivered %d + dropped %d (%+v)",
				name, s.PacketsSent, s.Duplicated, s.PacketsDelivered, s.Dropped.Total(), s.Dropped)
		}
	}
	if st.Total.PacketsDelivered != st.Total.PacketsReceived {
		t.Errorf("delivered %d != received %d", st.Total.PacketsDelivered, st.Total.PacketsReceived)
	}
	d := st.Total.Dropped
	if d.Loss == 0 || d.Partition == 0 || d.QueueFull == 0 || d.Oversize == 0 || st.Total.Duplicated == 0 {
		t.Errorf("expected every fault to fire: %+v, duplicated %d", d, st.Total.Duplicated)
	}
}
