package seq

import (
	"bytes"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenList builds a small fixed history: two replicas, concurrent inserts
// at one place, a backward run, a tombstone and a gap in one replica's seqs.
func goldenList(t testing.TB) *List {
	l := New()
	must := func(_ any, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.InsertAt(0, id(1, 1)))
	must(l.InsertAt(1, id(1, 2)))
	must(l.InsertAt(1, id(1, 3)))
	must(l.Integrate(id(300, 1), Origins{Left: id(1, 1)}))
	must(l.InsertAt(0, id(300, 2)))
	must(l.InsertAt(0, id(300, 5)))
	_, _, err := l.SetVisible(id(1, 2), false)
	must(nil, err)
	return l
}

func TestGolden(t *testing.T) {
	cases := []struct {
		file string
		list func(testing.TB) *List
	}{
		{"empty.golden", func(testing.TB) *List { return New() }},
		{"list.golden", goldenList},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			l := c.list(t)
			got := l.AppendEncode(nil)
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
			}
			d, err := Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(listSlots(d), listSlots(l)) {
				t.Fatalf("decoded %v, want %v", listSlots(d), listSlots(l))
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		l := New()
		for s := uint64(1); s <= 500; s++ {
			if _, err := l.InsertAt(rng.IntN(l.Len()+1), id(uint64(rng.IntN(3)), s*uint64(1+rng.IntN(2)))); err != nil && !errors.Is(err, ErrDuplicate) {
				t.Fatal(err)
			}
			if rng.IntN(5) == 0 && l.Len() > 0 {
				x, _ := l.At(rng.IntN(l.Len()))
				l.SetVisible(x, false)
			}
		}
		b := l.AppendEncode([]byte("prefix"))
		if string(b[:6]) != "prefix" {
			t.Fatal("AppendEncode lost the prefix")
		}
		d, err := Decode(b[6:])
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkTree(t, d)
		if !slices.Equal(listSlots(d), listSlots(l)) || d.Len() != l.Len() || d.Slots() != l.Slots() {
			t.Fatalf("seed %d: round trip differs", seed)
		}
		if !bytes.Equal(d.AppendEncode(nil), b[6:]) {
			t.Fatalf("seed %d: re-encoding differs", seed)
		}
		// The decoded list keeps working.
		if _, err := d.InsertAt(d.Len()/2, id(9, 1)); err != nil {
			t.Fatal(err)
		}
		checkTree(t, d)
	}
}

// TestW4Size: 10,000 inserts by one replica at random positions encode well
// under the 25 KB structure budget.
func TestW4Size(t *testing.T) {
	l := w4List(t, 10_000)
	size := len(l.AppendEncode(nil))
	t.Logf("W4 structure: %d bytes", size)
	if size > 20_000 {
		t.Fatalf("W4 encodes to %d bytes", size)
	}
}

func w4List(tb testing.TB, n int) *List {
	rng := rand.New(rand.NewPCG(4, 4))
	l := New()
	for i := range n {
		if _, err := l.InsertAt(rng.IntN(l.Len()+1), id(1, uint64(i+1))); err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

func TestDecodeErrors(t *testing.T) {
	good := goldenList(t).AppendEncode(nil)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"version", []byte{2, 0, 0}, ErrVersion},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"trailing", append(slices.Clone(good), 0), ErrCorrupt},
		{"huge replica count", []byte{1, 0xff, 0xff, 0x03}, ErrCorrupt},
		{"huge run", []byte{1, 1, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0}, ErrCorrupt},
		{"replica without slots", []byte{1, 1, 1, 0, 1, 0}, ErrCorrupt},
		{"descending replicas", []byte{1, 2, 5, 0, 1, 0, 0, 1, 0, 0, 1, 2, 0}, ErrCorrupt},
		{"visibility short", []byte{1, 1, 1, 1, 0, 1, 1, 1, 0}, ErrCorrupt},
		// two slots 1.1, 1.2; slot 1 is its own parent
		{"self parent", []byte{1, 1, 1, 1, 0, 1, 1, 2, 0x3 | 0x3<<3}, ErrCorrupt},
		// slot 1 under slot 2 and slot 2 under slot 1: a cycle
		{"cycle", []byte{1, 1, 1, 1, 0, 1, 1, 2, 0x5 | 0x3<<3}, ErrCorrupt},
		// left child of the head
		{"left of head", []byte{1, 1, 1, 1, 0, 0, 1, 1, 0}, ErrCorrupt},
		{"padding", []byte{1, 1, 1, 1, 0, 0, 1, 1, 0x81}, ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := Decode(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	// The valid counterpart of the hand-made inputs above: 1.1, 1.2 as a forward run.
	l, err := Decode([]byte{1, 1, 1, 1, 0, 1, 1, 2, 0x1 | 0x3<<3})
	if err != nil {
		t.Fatal(err)
	}
	if got := visibleIDs(l); !slices.Equal(got, []ID{id(1, 1), id(1, 2)}) {
		t.Fatalf("decoded %v", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(goldenList(f).AppendEncode(nil))
	f.Add(New().AppendEncode(nil))
	f.Add(w4List(f, 50).AppendEncode(nil))
	f.Add([]byte{1, 1, 1, 1, 0, 1, 1, 2, 0x5 | 0x3<<3})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkTree(t, l)
		// Whatever decodes re-encodes to the same bytes (the format is canonical).
		if got := l.AppendEncode(nil); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, b)
		}
		if _, err := l.InsertAt(l.Len(), id(1<<40, 1)); err != nil && !errors.Is(err, ErrDuplicate) {
			t.Fatal(err)
		}
	})
}
