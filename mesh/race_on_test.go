//go:build race

package mesh

// raceEnabled reports a -race build: the largest in-process clusters are
// skipped there, because 20 memberlist nodes under the race detector on a
// shared 2-core machine make failure detection flap.
const raceEnabled = true
