package draft

import (
	"errors"
	"testing"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in   string
		want Path
		err  bool
	}{
		{"", Path{}, false},
		{"/", Path{Key("")}, false},
		{"/a/b", Path{Key("a"), Key("b")}, false},
		{"/a~1b/c~0d", Path{Key("a/b"), Key("c~d")}, false},
		{"/~01", Path{Key("~1")}, false},
		{"/0/10/-", Path{Index(0), Index(10), End()}, false},
		{"/01", Path{Key("01")}, false},
		{"/1e3", Path{Key("1e3")}, false},
		{"/9999999999999999", Path{Key("9999999999999999")}, false},
		{"a", nil, true},
		{"/a~", nil, true},
		{"/a~2", nil, true},
	}
	for _, tc := range tests {
		got, err := ParsePointer(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadPointer) {
				t.Errorf("%q: err = %v, want ErrBadPointer", tc.in, err)
			}
			var pe *PointerError
			if !errors.As(err, &pe) {
				t.Errorf("%q: not a *PointerError", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %v want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: segment %d = %#v want %#v", tc.in, i, got[i], tc.want[i])
			}
		}
		if s := got.String(); s != tc.in {
			t.Errorf("%q: String() = %q", tc.in, s)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	p := P("users", "u/1", 3, End(), 2.5)
	if s := p.String(); s != "/users/u~11/3/-/2.5" {
		t.Fatalf("P: %q", s)
	}
	if !P("a", 0).Equal(P("a", "0")) || P("a").Equal(P("b")) || P("a").Equal(P("a", "b")) {
		t.Fatal("Equal")
	}
	if !P("a", "b").HasPrefix(P("a")) || P("a").HasPrefix(P("a", "b")) {
		t.Fatal("HasPrefix")
	}
	if i, ok := Index(4).AsIndex(); !ok || i != 4 || !Index(4).IsIndex() || !Key("x").IsKey() || !End().IsEnd() {
		t.Fatal("segment kinds")
	}
}

func FuzzParsePointer(f *testing.F) {
	for _, s := range []string{"", "/", "/a/b", "/a~1b", "/~0", "/0/-", "/a~", "x", "/01", "/~2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePointer(s)
		if err != nil {
			if !errors.Is(err, ErrBadPointer) {
				t.Fatalf("error %v does not wrap ErrBadPointer", err)
			}
			return
		}
		// Formatting and parsing again must give the same tokens.
		q, err := ParsePointer(p.String())
		if err != nil || !q.Equal(p) {
			t.Fatalf("round trip %q -> %q -> %v (%v)", s, p.String(), q, err)
		}
	})
}
