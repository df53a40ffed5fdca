package simulations

import (
	"bytes"
	"testing"
)

// reportBytes runs sc and returns its JSON report.
func reportBytes(t *testing.T, sc Scenario) []byte {
	t.Helper()
	return run(t, sc).JSON()
}

// TestDeterminism: the same scenario and seed give identical report bytes,
// and another seed gives another run.
func TestDeterminism(t *testing.T) {
	sc, err := LoadScenario("scenarios/lossy-30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Nodes, sc.Workload.Writes = 30, 60
	sc.Seed = 7
	a, b := reportBytes(t, sc), reportBytes(t, sc)
	if !bytes.Equal(a, b) {
		t.Fatalf("seed 7: two runs gave different reports:\n%s\n%s", a, b)
	}
	sc.Seed = 8
	if c := reportBytes(t, sc); bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same report")
	}
}

// TestDeterminismFaults: the same holds with crashes, snapshots, clock
// faults, joins and leaves in the timeline.
func TestDeterminismFaults(t *testing.T) {
	for _, f := range []string{"scenarios/crash-restart.yaml", "scenarios/clock-skew.yaml", "scenarios/churn.yaml"} {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(reportBytes(t, sc), reportBytes(t, sc)) {
			t.Fatalf("%s seed %d: two runs gave different reports", f, sc.Seed)
		}
	}
}
