package memnet

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// accept waits for one stream on tr.
func accept(t *testing.T, tr *Transport) net.Conn {
	t.Helper()
	select {
	case c := <-tr.StreamCh():
		return c
	case <-time.After(time.Second):
		t.Fatal("no stream accepted within 1s")
		return nil
	}
}

func TestStreamRoundTrip(t *testing.T) {
	n := newTestNet(t, nil)
	tr := transports(t, n, "a", "b")
	c, err := tr[0].DialTimeout(tr[1].Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := accept(t, tr[1])
	defer s.Close()
	if c.RemoteAddr().String() != tr[1].Addr() || s.RemoteAddr().String() != tr[0].Addr() {
		t.Errorf("addresses: dialer sees %s, listener sees %s", c.RemoteAddr(), s.RemoteAddr())
	}
	go func() { _, _ = c.Write([]byte("ping")) }()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	// memberlist relies on deadlines.
	if err := s.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past deadline: %v, want deadline exceeded", err)
	}
	st := n.Stats()
	if st.Nodes["a"].StreamsOpened != 1 || st.Nodes["b"].StreamsAccepted != 1 {
		t.Errorf("stats %+v", st.Nodes)
	}
}

func TestDialRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(n *Network, a, b *Transport)
		addr  func(b *Transport) string
		want  error
	}{
		{"partitioned", func(n *Network, _, _ *Transport) { _ = n.Partition([]string{"a"}, []string{"b"}) }, nil, ErrPartitioned},
		{"blocked forward", func(n *Network, _, _ *Transport) { n.Block("a", "b") }, nil, ErrPartitioned},
		{"blocked backward", func(n *Network, _, _ *Transport) { n.Block("b", "a") }, nil, ErrPartitioned},
		{"isolated", func(n *Network, _, _ *Transport) { n.Isolate("b") }, nil, ErrPartitioned},
		{"target shut down", func(_ *Network, _, b *Transport) { _ = b.Shutdown() }, nil, ErrClosed},
		{"dialer shut down", func(_ *Network, a, _ *Transport) { _ = a.Shutdown() }, nil, ErrClosed},
		{"unknown", func(*Network, *Transport, *Transport) {}, func(*Transport) string { return "10.9.9.9:7946" }, ErrNoRoute},
		{"backlog full", func(_ *Network, a, b *Transport) {
			c, err := a.DialTimeout(b.Addr(), time.Second) // fills the queue of 1
			if err != nil {
				panic(err)
			}
			_ = c.Close()
		}, nil, ErrBacklogFull},
		{"bad address", func(*Network, *Transport, *Transport) {}, func(*Transport) string { return "nohost" }, ErrBadAddress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, func(c *Config) { c.StreamQueueLen = 1 })
			tr := transports(t, n, "a", "b")
			tc.setup(n, tr[0], tr[1])
			addr := tr[1].Addr()
			if tc.addr != nil {
				addr = tc.addr(tr[1])
			}
			const timeout = 500 * time.Millisecond
			start := time.Now()
			c, err := tr[0].DialTimeout(addr, timeout)
			if elapsed := time.Since(start); elapsed > timeout {
				t.Errorf("dial took %v, longer than its timeout %v", elapsed, timeout)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("dial = %v, %v; want %v", c, err, tc.want)
			}
			if st := n.Stats().Nodes["a"]; st.StreamsRefused != 1 {
				t.Errorf("StreamsRefused = %d, want 1", st.StreamsRefused)
			}
		})
	}
}

// TestPartitionCutsOpenStream: an open stream across a new partition fails
// promptly on both ends, even a Read already blocked.
func TestPartitionCutsOpenStream(t *testing.T) {
	n := newTestNet(t, nil)
	tr := transports(t, n, "a", "b")
	c, err := tr[0].DialTimeout(tr[1].Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := accept(t, tr[1])
	readErr := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		readErr <- err
	}()
	n.Block("b", "a")
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("blocked read returned no error after the partition")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("blocked read still hanging 2s after the partition")
	}
	if _, err := c.Write([]byte{1}); err == nil {
		t.Error("write on a cut stream succeeded")
	}
	_ = c.Close()
	_ = s.Close()
	if st := n.Stats().Nodes["a"]; st.StreamsCut != 1 {
		t.Errorf("StreamsCut = %d, want 1", st.StreamsCut)
	}
}

func TestShutdown(t *testing.T) {
	n := newTestNet(t, func(c *Config) { c.Faults.Delay = time.Hour })
	tr := transports(t, n, "a", "b")
	a, b := tr[0], tr[1]
	sendSeq(t, a, b, 3) // in flight for an hour
	c, err := a.DialTimeout(b.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := c.Write([]byte{1}); err == nil {
		t.Error("write on a stream to a shut-down node succeeded")
	}
	if got := n.Stats().InFlight; got != 0 {
		t.Errorf("%d packets still in flight to a shut-down node", got)
	}
	sendSeq(t, a, b, 2)
	if _, err := b.WriteTo([]byte{1}, a.Addr()); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteTo from a shut-down node: %v, want ErrClosed", err)
	}
	if st := n.Stats().Nodes["a"]; st.Dropped.Closed != 5 {
		t.Errorf("a: closed drops = %d, want 3 in flight + 2 sent after Shutdown", st.Dropped.Closed)
	}
	// The name can be reused by a restarted node, at a new address.
	b2, err := n.NewTransport("b")
	if err != nil {
		t.Fatal(err)
	}
	if b2.Addr() == b.Addr() {
		t.Errorf("restarted node kept address %s", b.Addr())
	}
	if _, err := n.NewTransport("b"); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate live name: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.NewTransport("c"); !errors.Is(err, ErrClosed) {
		t.Errorf("NewTransport after Close: %v", err)
	}
	if st := n.Stats(); st.InFlight != 0 || st.Total.PacketsSent+st.Total.Duplicated != st.Total.PacketsDelivered+st.Total.Dropped.Total() {
		t.Errorf("after Close: %+v", st)
	}
}
