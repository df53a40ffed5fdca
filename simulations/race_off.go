//go:build !race

package simulations

// raceEnabled reports a -race build: HugePages reserves nothing there
// (the race detector would shadow, and touch, the whole reserve), and
// wall-time tests (engine 2) are skipped.
const raceEnabled = false
