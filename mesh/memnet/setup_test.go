package memnet

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// newTestNet returns a Network closed at the end of the test.
func newTestNet(t *testing.T, mutate func(*Config)) *Network {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seed = 42
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// transports creates one transport per name.
func transports(t *testing.T, n *Network, names ...string) []*Transport {
	t.Helper()
	out := make([]*Transport, len(names))
	for i, name := range names {
		tr, err := n.NewTransport(name)
		if err != nil {
			t.Fatalf("NewTransport(%q): %v", name, err)
		}
		out[i] = tr
	}
	return out
}

// seqPacket encodes i as an 8-byte payload.
func seqPacket(i int) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(i))
}

func packetSeq(p *memberlist.Packet) int {
	return int(binary.BigEndian.Uint64(p.Buf))
}

// sendSeq sends packets 0..count-1 from a to b and fails on any error.
func sendSeq(t *testing.T, from, to *Transport, count int) {
	t.Helper()
	for i := range count {
		if _, err := from.WriteTo(seqPacket(i), to.Addr()); err != nil {
			t.Fatalf("WriteTo #%d: %v", i, err)
		}
	}
}

// drain returns every packet queued on tr right now, without waiting.
func drain(tr *Transport) []*memberlist.Packet {
	var out []*memberlist.Packet
	for {
		select {
		case p := <-tr.PacketCh():
			out = append(out, p)
		default:
			return out
		}
	}
}

// receive waits up to timeout for exactly want packets on tr.
func receive(t *testing.T, tr *Transport, want int, timeout time.Duration) []*memberlist.Packet {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	out := make([]*memberlist.Packet, 0, want)
	for len(out) < want {
		select {
		case p := <-tr.PacketCh():
			out = append(out, p)
		case <-deadline.C:
			t.Fatalf("received %d packets within %v, want %d", len(out), timeout, want)
		}
	}
	return out
}

// waitIdle waits until no delayed copy is in flight.
func waitIdle(t *testing.T, n *Network, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for n.Stats().InFlight > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d packets in flight after %v", n.Stats().InFlight, timeout)
		}
		<-tick.C
	}
}
