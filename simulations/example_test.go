package simulations_test

import (
	"fmt"

	"github.com/syncmesh/syncmesh/simulations"
)

// A small mesh with a partition that heals: the run holds every invariant
// and reports how long convergence took. The same seed always prints the
// same figures.
func Example() {
	sc, err := simulations.ParseScenario([]byte(`
name: example
seed: 1
nodes: 8
workload: {writes: 40, rate: 20}
faults:
  - {kind: partition, mode: halves, at: 1500ms, until: 2500ms}
`), false)
	if err != nil {
		panic(err)
	}
	sim, err := simulations.New(sc, simulations.Options{})
	if err != nil {
		panic(err)
	}
	rep, err := sim.Run() // a *simulations.Violation if an invariant broke
	if err != nil {
		panic(err)
	}
	fmt.Println("writes:", rep.Writes, "heals:", rep.HealConvergence.Count)
	fmt.Println("all converged:", rep.WriteConvergence.Count == rep.Writes)
	// Output:
	// writes: 40 heals: 1
	// all converged: true
}
