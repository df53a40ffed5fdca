//go:build unix

package crdt

import (
	"syscall"
	"testing"
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
	return int64(ru.Minflt) // int32 on 32-bit platforms
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

// The machine's cost of first-touching fresh memory, which bounds W2's
// merge (it allocates ~34 MB, most of it new to the process): map 16 MiB of
// anonymous memory, write one byte per 4 KiB page (timed), unmap. Not crdt code; a
// yardstick for reading the W2 figures on a given machine.
func BenchmarkFreshPageFault(b *testing.B) {
	const size, page = 16 << 20, 4096
	var faults int64
	var touching time.Duration
	for b.Loop() {
		m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			b.Skip("mmap:", err)
		}
		f0, t0 := minorFaults(), time.Now()
		for i := 0; i < size; i += page {
			m[i] = 1
		}
		touching += time.Since(t0)
		faults += minorFaults() - f0
		if err := syscall.Munmap(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(touching.Nanoseconds())/float64(faults)/1000, "us/fault")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}
