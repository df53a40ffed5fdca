package simulations

import (
	"context"
	"os"
	"testing"
)

// TestCompare runs the baseline scenario (N = 20) and the same at N = 50
// on both engines (engine 2 in wall time, about 10 s each; skipped with
// -short). Both engines must converge. With SIM_COMPARE_STRICT=1 the
// model's median convergence time must also be within 25 % of real
// memberlist's (the acceptance figure); not by default, because engine 2
// runs in wall time and on a loaded 2-core machine memberlist's timers
// slip and its figures grow 2 to 5 x (docs/simulations.md).
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("engine 2 runs in wall time")
	}
	strict := os.Getenv("SIM_COMPARE_STRICT") != ""
	const lo, hi = -0.25, 0.25
	if raceEnabled {
		// mesh's own tests found that 20 memberlist nodes under the race
		// detector on 2 shared cores make failure detection flap; the
		// non-race run of this test covers both engines.
		t.Skip("engine 2 in wall time is not meaningful under -race")
	}
	for _, n := range []int{20, 50} {
		sc, err := LoadScenario("scenarios/baseline.yaml")
		if err != nil {
			t.Fatal(err)
		}
		sc.Nodes, sc.Workload.Writes = n, 60
		model, real, err := Compare(context.Background(), sc)
		if err != nil {
			t.Fatal(err)
		}
		t.Log("\n" + CompareMarkdown(model, real))
		diff := (model.WriteConvergence.P50 - real.WriteConvergence.P50) / real.WriteConvergence.P50
		if strict && (diff > hi || diff < lo) {
			t.Errorf("N=%d: model p50 %.0f ms vs memberlist %.0f ms: %+.0f %%, want %+.0f %%..%+.0f %%",
				n, model.WriteConvergence.P50, real.WriteConvergence.P50, diff*100, lo*100, hi*100)
		}
	}
}
