package simulations

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the GC percent without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTuneGC: GOGC=400 and half the memory unless the environment sets
// them, and restore puts back what was there.
func TestTuneGC(t *testing.T) {
	for _, tt := range []struct {
		name, gogc, limit string
		wantPercent       bool // TuneGC sets the percent
		wantLimit         bool // TuneGC sets the limit
	}{
		{"defaults", "", "", true, true},
		{"GOGC set", "150", "", false, true},
		{"GOMEMLIMIT set", "", "4GiB", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.limit)
			percent, limit := gcPercent(), debug.SetMemoryLimit(-1)
			restore := TuneGC()
			gotPercent, gotLimit := gcPercent(), debug.SetMemoryLimit(-1)
			restore()
			if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != percent || l != limit {
				t.Fatalf("restore: percent %d limit %d, want %d and %d", p, l, percent, limit)
			}
			wantPercent := percent
			if tt.wantPercent {
				wantPercent = SimGCPercent
			}
			if gotPercent != wantPercent {
				t.Errorf("percent %d, want %d", gotPercent, wantPercent)
			}
			mem := physicalMemory()
			if mem == 0 {
				t.Skip("no /proc/meminfo: no limit to check")
			}
			want := limit
			if tt.wantLimit {
				want = int64(float64(mem) * SimMemoryShare)
			}
			if gotLimit != want {
				t.Errorf("limit %d, want %d (physical memory %d)", gotLimit, want, mem)
			}
		})
	}
}

// TestHugePages: the advice is harmless: the reserve is handed back and
// the heap still works.
func TestHugePages(t *testing.T) {
	defer HugePages(8 << 20)()
	keep := make([][]byte, 0, 64)
	for range 64 {
		b := make([]byte, 64<<10)
		b[len(b)-1] = 1
		keep = append(keep, b)
	}
	for i, b := range keep {
		if b[len(b)-1] != 1 || b[0] != 0 {
			t.Fatalf("block %d changed", i)
		}
	}
}
