package memnet

import (
	"errors"
	"testing"
	"time"
)

// reach sends one packet over every ordered pair and returns which arrived.
func reach(t *testing.T, tr []*Transport) map[[2]string]bool {
	t.Helper()
	out := make(map[[2]string]bool)
	for _, from := range tr {
		for _, to := range tr {
			if from == to {
				continue
			}
			if _, err := from.WriteTo([]byte{1}, to.Addr()); err != nil {
				t.Fatal(err)
			}
			out[[2]string{from.Name(), to.Name()}] = len(drain(to)) == 1
		}
	}
	return out
}

func TestPartitions(t *testing.T) {
	tests := []struct {
		name  string
		apply func(*Network) error
		cut   [][2]string // every other ordered pair must connect
	}{
		{"none", func(*Network) error { return nil }, nil},
		{"halves", func(n *Network) error { return n.Partition([]string{"a", "b"}, []string{"c", "d"}) },
			[][2]string{{"a", "c"}, {"a", "d"}, {"b", "c"}, {"b", "d"}, {"c", "a"}, {"c", "b"}, {"d", "a"}, {"d", "b"}}},
		{"unlisted nodes form a group", func(n *Network) error { return n.Partition([]string{"a"}) },
			[][2]string{{"a", "b"}, {"a", "c"}, {"a", "d"}, {"b", "a"}, {"c", "a"}, {"d", "a"}}},
		{"one-way block", func(n *Network) error { n.Block("a", "b"); return nil },
			[][2]string{{"a", "b"}}},
		{"isolate", func(n *Network) error { n.Isolate("c"); return nil },
			[][2]string{{"a", "c"}, {"b", "c"}, {"d", "c"}, {"c", "a"}, {"c", "b"}, {"c", "d"}}},
		{"unblock", func(n *Network) error { n.Block("a", "b"); n.Unblock("a", "b"); return nil }, nil},
		{"partition replaced", func(n *Network) error {
			if err := n.Partition([]string{"a"}); err != nil {
				return err
			}
			return n.Partition([]string{"a", "b", "c"}, []string{"d"})
		}, [][2]string{{"a", "d"}, {"b", "d"}, {"c", "d"}, {"d", "a"}, {"d", "b"}, {"d", "c"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, nil)
			tr := transports(t, n, "a", "b", "c", "d")
			if err := tc.apply(n); err != nil {
				t.Fatal(err)
			}
			want := make(map[[2]string]bool)
			for _, c := range tc.cut {
				want[c] = true
			}
			for pair, ok := range reach(t, tr) {
				if ok == want[pair] {
					t.Errorf("%s→%s: delivered=%v, want cut=%v", pair[0], pair[1], ok, want[pair])
				}
				if n.Partitioned(pair[0], pair[1]) != want[pair] {
					t.Errorf("Partitioned(%s, %s) = %v", pair[0], pair[1], !want[pair])
				}
			}
			if got, want := n.Stats().Total.Dropped.Partition, uint64(len(tc.cut)); got != want {
				t.Errorf("partition drops = %d, want %d", got, want)
			}
			n.Heal()
			for pair, ok := range reach(t, tr) {
				if !ok {
					t.Errorf("after Heal %s→%s still cut", pair[0], pair[1])
				}
			}
		})
	}
}

func TestPartitionRejectsBadGroups(t *testing.T) {
	n := newTestNet(t, nil)
	if err := n.Partition([]string{"a", "b"}, []string{"b"}); !errors.Is(err, ErrBadPartition) {
		t.Errorf("node in two groups: %v", err)
	}
	if err := n.Partition([]string{""}); !errors.Is(err, ErrBadPartition) {
		t.Errorf("empty name: %v", err)
	}
}

// TestPartitionDropsInFlight: a delayed packet whose link is cut before it
// is due is dropped, not delivered.
func TestPartitionDropsInFlight(t *testing.T) {
	n := newTestNet(t, func(c *Config) { c.Faults.Delay = 30 * time.Millisecond })
	tr := transports(t, n, "a", "b")
	sendSeq(t, tr[0], tr[1], 5)
	n.Isolate("b")
	waitIdle(t, n, 5*time.Second)
	if got := len(drain(tr[1])); got != 0 {
		t.Errorf("received %d packets across a partition", got)
	}
	if st := n.Stats().Nodes["a"]; st.Dropped.Partition != 5 {
		t.Errorf("partition drops = %d, want 5", st.Dropped.Partition)
	}
}
