// Package simulations runs convergence experiments on syncmesh: many nodes,
// injected faults, invariants checked throughout, a report and charts of how
// fast and how surely a mesh converges.
//
// # Engine 1: the deterministic simulator
//
// Sim is a single-threaded discrete-event simulation in virtual time. It
// drives real mesh.Cores over real crdt.Docs, each with its own
// clock.Manual, over a model of memberlist's gossip with the same
// parameters (fanout, interval, retransmit limit, packet size) and a network
// that injects the scenario's faults. Scenario files (YAML or JSON, see
// LoadScenario and docs/simulations.md) describe the nodes, the workload and
// the fault timeline.
//
// # Invariants
//
//   - Determinism: events run in (time, push order); every random choice
//     comes from a PCG seeded from the scenario seed, one stream per concern
//     (gossip targets, workload, faults, peer views, network, each core); no
//     goroutines, no wall time, and no Go map iteration decides anything.
//     The same scenario and seed give byte-identical Report.JSON.
//   - Memory is O(N * (view + queue + document)), never O(N^2): each core
//     knows at most Gossip.PeerView peers, decoded changes are shared between
//     replicas (they are immutable), and broadcasts are interned.
//   - A run stops at the first broken invariant (see Invariants) and returns
//     a *Violation carrying the seed and the command that reproduces it.
//
// # Usage
//
//	sc, err := simulations.LoadScenario("simulations/scenarios/baseline.yaml")
//	if err != nil { ... }
//	sim, err := simulations.New(sc, simulations.Options{Source: "baseline.yaml"})
//	if err != nil { ... }
//	rep, err := sim.Run() // err is a *Violation when an invariant broke
//	os.Stdout.Write(rep.JSON())
//
// # Engine 2
//
// Compare runs a fault-free scenario on engine 1 and on real mesh.Nodes
// (memberlist over mesh/memnet, in one process and wall time) to check the
// model; RunCampaign runs random fault schedules (RandomScenario); RunStudy
// measures convergence against N. docs/simulations.md has the guide and
// the results.
package simulations
