//go:build unix

package crdt

import "syscall"

// minorFaults returns the process's minor page faults so far: a benchmark
// diagnostic for first-touch costs of fresh memory.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}
