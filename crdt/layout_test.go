package crdt

import (
	"testing"
	"unsafe"
)

// TestDocHotLines checks the layout Doc's comment describes: what a remote
// apply with SkipPatches reads of a Doc lies in 64-byte lines 5 to 7 (the
// Doc in a 1280-byte size class, so its lines start at multiples of 64).
// A field added before them moves them: then rearrange, and measure
// BenchmarkColdRemoteApplySkip.
func TestDocHotLines(t *testing.T) {
	var d Doc
	if size := unsafe.Sizeof(d); size <= 1152 || size > 1280 {
		t.Fatalf("Doc is %d bytes, not in the 1280-byte size class", size)
	}
	line := func(off uintptr) int { return int(off / 64) }
	// Owner's busy flag is its last field but one (saved): within the
	// 16 bytes before clk.
	busy := unsafe.Offsetof(d.clk) - 16
	log := unsafe.Offsetof(d.log)
	hot := []struct {
		name string
		off  uintptr
		line int
	}{
		{"owner.busy", busy, 5},
		{"clk", unsafe.Offsetof(d.clk), 5},
		{"root", unsafe.Offsetof(d.root), 5},
		{"vv", unsafe.Offsetof(d.vv), 5},
		{"afterOp", unsafe.Offsetof(d.afterOp), 5},
		{"skip", unsafe.Offsetof(d.skip), 5},
		{"stale", unsafe.Offsetof(d.stale), 5},
		{"waiting", unsafe.Offsetof(d.waiting), 5},
		{"stats", unsafe.Offsetof(d.stats), 6},
		{"stats' end", unsafe.Offsetof(d.stats) + unsafe.Sizeof(d.stats) - 1, 6},
		{"log.authors", log + unsafe.Offsetof(d.log.authors), 7},
		{"log.lastR", log + unsafe.Offsetof(d.log.lastR), 7},
		{"log.last", log + unsafe.Offsetof(d.log.last), 7},
		{"log.index", log + unsafe.Offsetof(d.log.index), 7},
		{"log.index's len", log + unsafe.Offsetof(d.log.index) + 8, 7},
	}
	for _, f := range hot {
		if got := line(f.off); got != f.line {
			t.Errorf("%s at byte %d: line %d, want %d", f.name, f.off, got, f.line)
		}
	}
}
