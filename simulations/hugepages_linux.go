package simulations

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"
)

// madvHugePage is Linux's MADV_HUGEPAGE advice.
const madvHugePage = 14

// hugePageBytes is the size and alignment of an x86-64 (and arm64 with 4
// KiB pages) transparent huge page.
const hugePageBytes = 2 << 20

// reserved makes the reserve once per process: see adviseHugePages.
var reserved sync.Once

// adviseHugePages: see HugePages. Only the first call that reserves does:
// the room it hands back is ordinary heap afterwards, and a second reserve
// would be allocated from it, which the runtime zeroes, touching all of it
// (a test that ran the command three times in one process reached 12 GB).
func adviseHugePages(reserve int64) {
	if reserve <= 0 || raceEnabled || !thpOnRequest() {
		return
	}
	reserved.Do(func() { reserveAdvised(reserve) })
}

// reserveAdvised maps reserve bytes of heap, advises them and hands them
// back to the runtime.
func reserveAdvised(reserve int64) {
	// The runtime maps the heap 4 MiB at a time and allocates from a
	// mapping at once, before any advice could reach it: map the room
	// the run will use now, advise it, and give it back to the runtime.
	// The pages stay unpopulated (the runtime knows fresh memory is
	// zero) and the runtime allocates from this range, lowest addresses
	// first, before it maps more.
	room := make([]byte, reserve)
	advise(uintptr(unsafe.Pointer(unsafe.SliceData(room))), uintptr(reserve))
	room = nil
	runtime.KeepAlive(room)
	debug.FreeOSMemory()
}

// advise gives the mapped parts of [p, p+n) the MADV_HUGEPAGE advice,
// rounded inwards to huge page boundaries. Unmapped parts are skipped (the
// call then reports ENOMEM, which is ignored).
func advise(p, n uintptr) {
	lo := (p + hugePageBytes - 1) &^ (hugePageBytes - 1)
	hi := (p + n) &^ (hugePageBytes - 1)
	if lo < hi {
		syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, madvHugePage)
	}
}

// thpOnRequest reports whether advising can help and reserving is safe:
// the kernel gives huge pages on request ("madvise" mode: under "always"
// the heap has them already, under "never" advice does nothing), and it
// does not account address space strictly (overcommit mode 2 could refuse
// the untouched reserve, which the runtime cannot survive).
func thpOnRequest() bool {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(mode, []byte("[madvise]")) {
		return false
	}
	oc, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err == nil && !bytes.HasPrefix(bytes.TrimSpace(oc), []byte("2"))
}
