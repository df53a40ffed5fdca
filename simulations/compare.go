package simulations

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrEngine2 reports that engine 2 is not available yet.
var ErrEngine2 = errors.New("simulations: engine 2 (real memberlist nodes over mesh/memnet) is not available yet")

// Compare runs a scenario on engine 1 and on engine 2 (real memberlist
// nodes over mesh/memnet) and returns both reports.
func Compare(ctx context.Context, sc Scenario) (model, real *Report, err error) {
	return nil, nil, ErrEngine2
}

// CompareMarkdown puts two reports of one scenario side by side.
func CompareMarkdown(model, real *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s: simulator vs real memberlist\n\n| figure | simulator | memberlist | diff |\n|---|---|---|---|\n", model.Scenario)
	row := func(k string, a, c float64) {
		d := "–"
		if c != 0 {
			d = fmt.Sprintf("%+.0f %%", (a-c)/c*100)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %s |\n", k, a, c, d)
	}
	row("convergence p50 (ms)", model.WriteConvergence.P50, real.WriteConvergence.P50)
	row("convergence p99 (ms)", model.WriteConvergence.P99, real.WriteConvergence.P99)
	row("convergence max (ms)", model.WriteConvergence.Max, real.WriteConvergence.Max)
	row("bytes per node per s", model.BytesPerNodeSec, real.BytesPerNodeSec)
	return b.String()
}
