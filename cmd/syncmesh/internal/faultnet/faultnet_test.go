package faultnet

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T, n *Network) *Transport {
	t.Helper()
	tr, err := n.Listen("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown() })
	return tr
}

// receive reads k packets from tr or fails after a generous timeout.
func receive(t *testing.T, tr *Transport, k uint64) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range k {
		select {
		case <-tr.PacketCh():
		case <-timeout:
			t.Fatalf("received fewer than %d packets", k)
		}
	}
}

func TestLoss(t *testing.T) {
	const sends, loss, seed = 2000, 0.3, 42
	n, err := New(Config{Loss: loss, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	a, b := listen(t, n), listen(t, n)
	for i := range sends {
		if i%2 == 0 {
			_, err = a.WriteTo([]byte("x"), b.Addr())
		} else {
			_, err = a.WriteToAddress([]byte("x"), memberlist.Address{Addr: b.Addr(), Name: "b"})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	st := n.Stats()
	if st.Sent+st.Dropped != sends || st.Blocked != 0 {
		t.Fatalf("stats %+v do not add up to %d sends", st, sends)
	}
	if got := float64(st.Dropped) / sends; got < loss-0.05 || got > loss+0.05 {
		t.Fatalf("dropped %.3f of packets, want about %.2f (seed %d)", got, loss, seed)
	}
	receive(t, b, st.Sent) // what was not dropped arrives
}

func TestPartition(t *testing.T) {
	n, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := listen(t, n), listen(t, n), listen(t, n)
	n.Partition([]string{a.Addr()}, []string{b.Addr()}) // c is in no group
	if _, err := a.WriteTo([]byte("x"), b.Addr()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DialTimeout(b.Addr(), time.Second); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("dial across the partition: %v, want ErrPartitioned", err)
	}
	if _, err := a.DialAddressTimeout(memberlist.Address{Addr: b.Addr()}, time.Second); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("dial across the partition: %v, want ErrPartitioned", err)
	}
	if st := n.Stats(); st.Blocked != 3 || st.Sent != 0 {
		t.Fatalf("stats %+v, want 3 blocked", st)
	}
	if _, err := a.WriteTo([]byte("y"), c.Addr()); err != nil { // ungrouped: reachable
		t.Fatal(err)
	}
	receive(t, c, 1)
	n.Heal()
	conn, err := a.DialTimeout(b.Addr(), time.Second)
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	conn.Close()
	select {
	case s := <-b.StreamCh():
		s.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not arrive after heal")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, loss := range []float64{-0.1, 1, 2} {
		if _, err := New(Config{Loss: loss}); err == nil {
			t.Errorf("New(Loss %v) succeeded", loss)
		}
	}
}
