package crdt

import (
	"testing"

	"github.com/syncmesh/syncmesh/crdt/internal/seq"
)

// TestElemIndex checks the element index against a map: handles set in
// any order (within the first page, across its growth, on later pages,
// leaving holes) read back, absent ones read nil, and the count is of
// distinct handles.
func TestElemIndex(t *testing.T) {
	tests := []struct {
		name    string
		handles []seq.Handle
	}{
		{"empty", nil},
		{"one", []seq.Handle{2}},
		{"dense first page", []seq.Handle{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"first page grows past its start", []seq.Handle{2, 9, 17, 100, elemPage - 1}},
		{"later pages only", []seq.Handle{elemPage, 3*elemPage + 7}},
		{"descending across pages", []seq.Handle{2*elemPage + 1, elemPage + 5, 40, 2}},
		{"set twice", []seq.Handle{5, 5, elemPage + 5, elemPage + 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x elemIndex
			want := map[seq.Handle]*slot{}
			for _, h := range tc.handles {
				s := &slot{key: "x"}
				x.set(h, s)
				want[h] = s
			}
			if x.n != len(want) {
				t.Fatalf("n = %d, want %d", x.n, len(want))
			}
			for h := seq.Handle(0); h < 4*elemPage; h++ {
				if got := x.get(h); got != want[h] {
					t.Fatalf("get(%d) = %p, want %p", h, got, want[h])
				}
			}
			seen := 0
			for _, pg := range x.pages {
				for _, s := range pg {
					if s != nil {
						seen++
					}
				}
			}
			if seen != len(want) {
				t.Fatalf("pages hold %d registers, want %d", seen, len(want))
			}
		})
	}
}
