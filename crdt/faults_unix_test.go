//go:build unix

package crdt

import (
	"syscall"
	"time"
	"unsafe"
)

// minorFaults returns the process's minor page faults so far: a benchmark
// diagnostic for first-touch costs of fresh memory.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// processCPU returns the process's CPU time from the scheduler's own
// accounting (clock_gettime CLOCK_PROCESS_CPUTIME_ID): precise where
// getrusage may count in ticks, so short phases can be compared on a
// loaded machine.
func processCPU() time.Duration {
	var ts syscall.Timespec
	const clockProcessCPUTime = 2
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
