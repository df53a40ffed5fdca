package simulations

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Linux madvise advice values.
const (
	madvHugePage      = 14
	madvPopulateWrite = 23 // Linux 5.14+: fault pages in writable, contents kept
)

// hugePageBytes is the size and alignment of an x86-64 (and arm64 with 4
// KiB pages) transparent huge page.
const hugePageBytes = 2 << 20

// reserved makes the reserve once per process: see adviseHugePages.
var reserved sync.Once

// adviseHugePages: see HugePages. Only the first call that reserves does:
// the room it hands back is ordinary heap afterwards, and a second reserve
// would be allocated from it, which the runtime zeroes, touching all of it
// (a test that ran the command three times in one process reached 12 GB).
func adviseHugePages(reserve int64) (stop func()) {
	stop = func() {}
	if reserve <= 0 || raceEnabled || !thpOnRequest() {
		return stop
	}
	reserved.Do(func() { stop = reserveAdvised(reserve) })
	return stop
}

// reserveAdvised maps reserve bytes of heap, advises them, hands them
// back to the runtime and starts prefaulting them; stop ends the
// prefaulting and waits for its goroutine to return.
func reserveAdvised(reserve int64) (stop func()) {
	// The runtime maps the heap 4 MiB at a time and allocates from a
	// mapping at once, before any advice could reach it: map the room
	// the run will use now, advise it, and give it back to the runtime.
	// The pages stay unpopulated (the runtime knows fresh memory is
	// zero) and the runtime allocates from this range, lowest addresses
	// first, before it maps more.
	room := make([]byte, reserve)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(room)))
	advise(lo, uintptr(reserve))
	room = nil
	runtime.KeepAlive(room)
	debug.FreeOSMemory()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		prefault(lo, lo+uintptr(reserve), quit)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

// prefault faults the reserve's pages in from a goroutine of its own, a
// little ahead of the heap's growth into it, so that the kernel's zeroing
// of each fresh page happens there instead of in the run's event loop.
// On this machine (a VM) the first touch of a page was a few ms per 2 MiB
// huge page, about 20 s of system time in the 10,000-node run, all of it
// on the single-threaded loop; done ahead on the other core, the loop
// finds the pages there. MADV_POPULATE_WRITE only makes pages present,
// their contents (zero, or what the runtime put there meanwhile) stay as
// they are, so racing the runtime is harmless. The runtime allocates
// from the reserve lowest addresses first, so the heap's extent is
// about lo plus what it retains (mapped and not released); the
// goroutine keeps a quarter of that (16 MiB to 512 MiB) populated beyond
// it, polling every 2 ms, and stops at the reserve's end, if the kernel
// refuses the advice (before 5.14), or when quit is closed.
func prefault(lo, hi uintptr, quit <-chan struct{}) {
	const (
		minAhead = 16 << 20
		maxAhead = 512 << 20
		chunk    = 8 << 20
	)
	sample := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	next := lo
	for next < hi {
		metrics.Read(sample)
		retained := uintptr(sample[0].Value.Uint64() - sample[1].Value.Uint64())
		target := min(hi, lo+retained+min(max(retained/4, minAhead), maxAhead))
		if next >= target {
			select {
			case <-quit:
				return
			case <-poll.C:
			}
			continue
		}
		select {
		case <-quit:
			return
		default:
		}
		n := min(uintptr(chunk), hi-next)
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, next, n, madvPopulateWrite); errno != 0 {
			return
		}
		next += n
	}
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
