package simulations

import "testing"

// benchScenario runs a shipped scenario b.N times and reports its figures.
func benchScenario(b *testing.B, file string) {
	b.ReportAllocs()
	// As the sim command does (GOGC=400, memory limit half the machine,
	// unless GOGC or GOMEMLIMIT is set).
	defer TuneGC()()
	sc, err := LoadScenario(file)
	if err != nil {
		b.Fatal(err)
	}
	var r *Report
	for b.Loop() {
		s, err := New(sc, Options{Source: file})
		if err != nil {
			b.Fatal(err)
		}
		if r, err = s.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.WriteConvergence.P50, "conv-p50-ms")
	b.ReportMetric(r.WriteConvergence.P99, "conv-p99-ms")
	b.ReportMetric(float64(r.Writes), "writes")
	b.Log(r.Summary())
}

// BenchmarkScale1k: 1,000 nodes, 500 writes.
func BenchmarkScale1k(b *testing.B) { benchScenario(b, "scenarios/scale-1k.yaml") }

// BenchmarkScale10k: 10,000 nodes and 1,000 writes; the target is under 2
// minutes per run on 2 vCPU.
func BenchmarkScale10k(b *testing.B) { benchScenario(b, "scenarios/scale-10k.yaml") }
