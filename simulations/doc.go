// Package simulations runs convergence experiments: many nodes, injected
// faults, a report and charts of how fast and how surely a mesh converges.
//
// This package is being built; see docs/simulations.md.
package simulations
