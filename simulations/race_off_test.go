//go:build !race

package simulations

// raceEnabled reports a -race build, where wall-time tests (engine 2) are
// skipped.
const raceEnabled = false
