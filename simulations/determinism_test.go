package simulations

import (
	"bytes"
	"testing"
)

// TestDeterminism: the same scenario and seed give identical report bytes,
// and another seed gives another run.
func TestDeterminism(t *testing.T) {
	sc, err := LoadScenario("scenarios/lossy-30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Nodes, sc.Workload.Writes = 30, 60
	run := func(seed uint64) []byte {
		sc.Seed = seed
		s, err := New(sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Run()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		return r.JSON()
	}
	a, b := run(7), run(7)
	if !bytes.Equal(a, b) {
		t.Fatalf("seed 7: two runs gave different reports:\n%s\n%s", a, b)
	}
	if c := run(8); bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same report")
	}
}
