package simulations

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// SimGCPercent is the GC percent (GOGC) a simulation run uses unless the
// GOGC environment variable says otherwise: a big mesh allocates fast
// (gigabytes per second of virtual time at 10,000 nodes) and keeps a heap
// of gigabytes live, so the default 100 would collect about every time
// the heap grew by as much as is live, and collection would be most of
// the run.
const SimGCPercent = 400

// SimMemoryShare is the share of the machine's physical memory a
// simulation run's heap may use (its soft memory limit) unless the
// GOMEMLIMIT environment variable says otherwise. At GOGC=400 the heap
// would otherwise grow to five times what is live (20 GB or more at
// 10,000 nodes); the limit caps it and makes the GC run only as often as
// it must within that space. Half leaves the rest to the system and the
// other programs on the machine; at 10,000 nodes the live heap is a few
// GB, so the limit leaves room and the collector does not thrash.
const SimMemoryShare = 0.5

// TuneGC applies the simulator's GC settings to the process, as the
// syncmesh-sim command and the Benchmark functions do: GC percent
// SimGCPercent unless GOGC is set, and a soft memory limit of
// SimMemoryShare of physical memory (when it can be read: Linux's
// /proc/meminfo) unless GOMEMLIMIT is set. It returns a function that
// restores the previous settings. The settings are process-wide: a
// library embedding the simulator should decide them itself.
func TuneGC() (restore func()) {
	prevPercent, prevLimit := -2, int64(-1)
	if os.Getenv("GOGC") == "" {
		prevPercent = debug.SetGCPercent(SimGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := physicalMemory(); total > 0 {
			prevLimit = debug.SetMemoryLimit(int64(float64(total) * SimMemoryShare))
		}
	}
	return func() {
		if prevPercent != -2 {
			debug.SetGCPercent(prevPercent)
		}
		if prevLimit >= 0 {
			debug.SetMemoryLimit(prevLimit)
		}
	}
}

// physicalMemory returns the machine's physical memory in bytes from
// /proc/meminfo, or 0 if it cannot be read.
func physicalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// MemTotal:       24000000 kB
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil || kb > math.MaxUint64/1024 {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// HugePages asks the kernel to back the Go heap with transparent huge
// pages (2 MiB) where it allows them on request (Linux's "madvise" mode).
// The simulator's heap is gigabytes touched at random: with 4 KiB pages
// the first touch of each page was a fault (2.6 million at 10,000 nodes)
// and nearly every access to another node's state a TLB miss. It maps
// reserve bytes of address space at once (none of it is touched; the
// memory limit of TuneGC is the natural size), advises it and hands it
// back to the runtime, which allocates from it before it maps more; the
// heap beyond the reserve gets ordinary pages. (Advising new mappings
// from a goroutine every few milliseconds instead took the address
// space's lock each time and preempted the run.) It changes nothing a
// run computes. A no-op where the advice does not exist, where the kernel
// is not in "madvise" mode or accounts address space strictly
// (overcommit mode 2), in a -race build, or when reserve <= 0. Only the
// first call in a process that reserves anything does: the room is the
// heap's from then on.
//
// The first touch of each page is also the kernel's work (zeroing it;
// on a VM, backing it): a goroutine faults the reserve in a little ahead
// of the heap's growth (Linux 5.14's MADV_POPULATE_WRITE), so that this
// work runs beside the single-threaded simulation instead of inside it.
// The returned stop ends that goroutine and waits for it; call it when
// the runs are over (the heap stays as it is).
func HugePages(reserve int64) (stop func()) { return adviseHugePages(reserve) }
