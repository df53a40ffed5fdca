package crdt

import (
	"testing"
	"unsafe"
)

// TestDocHotLines checks the layout Doc's comment describes: what a remote
// apply with SkipPatches reads of a Doc lies in 64-byte lines 5 to 7 (the
// Doc in a 1024-byte size class, so its lines start at multiples of 64).
// A field added before them moves them: then rearrange, and measure
// BenchmarkColdRemoteApplySkip.
func TestDocHotLines(t *testing.T) {
	var d Doc
	if size := unsafe.Sizeof(d); size <= 512 || size > 1024 {
		t.Fatalf("Doc is %d bytes, not in the 1024-byte size class", size)
	}
	line := func(off uintptr) int { return int(off / 64) }
	// Owner's busy flag is its last field but one (saved): within the
	// 16 bytes before clk.
	busy := unsafe.Offsetof(d.clk) - 16
	hot := map[string]struct {
		off  uintptr
		line int
	}{
		"owner.busy":    {busy, 5},
		"clk":           {unsafe.Offsetof(d.clk), 5},
		"root":          {unsafe.Offsetof(d.root), 5},
		"vv":            {unsafe.Offsetof(d.vv), 5},
		"log":           {unsafe.Offsetof(d.log), 5},
		"mark":          {unsafe.Offsetof(d.mark), 5},
		"skip":          {unsafe.Offsetof(d.skip), 5},
		"stale":         {unsafe.Offsetof(d.stale), 5},
		"stats":         {unsafe.Offsetof(d.stats), 6},
		"stats end":     {unsafe.Offsetof(d.stats) + unsafe.Sizeof(d.stats) - 1, 6},
		"afterOp":       {unsafe.Offsetof(d.afterOp), 6},
		"lag":           {unsafe.Offsetof(d.lag), 7},
		"pending.n":     {unsafe.Offsetof(d.pending) + unsafe.Offsetof(d.pending.n), 7},
		"listSlots":     {unsafe.Offsetof(d.listSlots), 6},
		"lag's len":     {unsafe.Offsetof(d.lag) + 8, 7},
		"pending.n end": {unsafe.Offsetof(d.pending) + unsafe.Sizeof(d.pending.n) - 1, 7},
	}
	for name, f := range hot {
		if got := line(f.off); got != f.line {
			t.Errorf("%s at byte %d: line %d, want %d", name, f.off, got, f.line)
		}
	}
}
