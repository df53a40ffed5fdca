package simulations

import (
	"fmt"
	"strings"
)

// StudyScenario is the scenario of one cell of the convergence-vs-N study:
// n nodes on a clean LAN with the given uniform loss, LAN gossip defaults,
// mixed writes at 20 per second from at most 100
// writers.
func StudyScenario(n int, loss float64, writes int) Scenario {
	c := 0.1
	return Scenario{
		Name: fmt.Sprintf("study-n%d-loss%.0f", n, loss*100), Seed: 1, Nodes: n,
		Network:  NetworkParams{Latency: ms(1), Jitter: ms(1), Loss: loss},
		Workload: Workload{Writes: writes, Rate: 20, Writers: min(n, 100), Keys: 100, Conflict: &c},
	}
}

// RunStudy runs StudyScenario for every n and loss and returns one point
// per run, in order. progress, if not nil, is called after each run.
func RunStudy(ns []int, losses []float64, writes int, progress func(*Report)) ([]ScalePoint, error) {
	var out []ScalePoint
	for _, loss := range losses {
		for _, n := range ns {
			s, err := New(StudyScenario(n, loss, writes), Options{Source: "study"})
			if err != nil {
				return nil, err
			}
			r, err := s.Run()
			if err != nil {
				return nil, err
			}
			if progress != nil {
				progress(r)
			}
			out = append(out, ScalePoint{Nodes: n, Loss: loss, Reach9999P50: r.Reach9999.P50,
				ConvP50: r.WriteConvergence.P50, ConvP99: r.WriteConvergence.P99, BoundMs: r.EpidemicBoundMs})
		}
	}
	return out, nil
}

// StudyMarkdown formats study points as a table beside the epidemic bound
// and Serf's published numbers.
func StudyMarkdown(pts []ScalePoint) string {
	serf := map[int]float64{}
	for _, s := range SerfReference {
		serf[s.Nodes] = s.Reach9999P50
	}
	var b strings.Builder
	b.WriteString("| N | loss | 99.99 % reached, p50 | all reached, p50 | all reached, p99 | epidemic bound | Serf (99.99 %) |\n|---|---|---|---|---|---|---|\n")
	for _, p := range pts {
		sv := "–"
		if v, ok := serf[p.Nodes]; ok && p.Loss == 0 {
			sv = fmt.Sprintf("%.0f ms", v)
		}
		fmt.Fprintf(&b, "| %d | %.0f %% | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %s |\n",
			p.Nodes, p.Loss*100, p.Reach9999P50, p.ConvP50, p.ConvP99, p.BoundMs, sv)
	}
	return b.String()
}
