package clock_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// FuzzDecode: Decode never panics; it accepts exactly the 16-byte inputs;
// accepted inputs round-trip byte for byte through Encode and through the
// text form; and the byte order of two inputs is their Compare order, which
// is also the string order of their text forms.
func FuzzDecode(f *testing.F) {
	for i, a := range goldenTimestamps {
		b := goldenTimestamps[(i+1)%len(goldenTimestamps)]
		ea, eb := a.Encode(), b.Encode()
		f.Add(ea[:], eb[:])
	}
	f.Add([]byte{}, []byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte{0xff}, 16), bytes.Repeat([]byte{0xff}, 17))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ta, okA := checkDecode(t, a)
		tb, okB := checkDecode(t, b)
		if !okA || !okB {
			return
		}
		// a and b are the encodings of ta and tb (checkDecode checked it).
		checkPair(t, ta, tb, func() string { return fmt.Sprintf("inputs %x, %x", a, b) })
	})
}

func checkDecode(t *testing.T, b []byte) (clock.Timestamp, bool) {
	t.Helper()
	ts, err := clock.Decode(b)
	if len(b) != clock.EncodedLen {
		if !errors.Is(err, clock.ErrMalformed) {
			t.Fatalf("Decode(%x) of %d bytes: %v, want ErrMalformed", b, len(b), err)
		}
		return ts, false
	}
	if err != nil {
		t.Fatalf("Decode(%x): %v", b, err)
	}
	if ts.Validate() != nil {
		t.Fatalf("Decode(%x) = %+v, not valid", b, ts)
	}
	if enc := ts.Encode(); !bytes.Equal(enc[:], b) {
		t.Fatalf("Encode(Decode(%x)) = %x", b, enc)
	}
	p, err := clock.Parse(ts.String())
	if err != nil || p != ts {
		t.Fatalf("Parse(%q) = %s, %v; want %s", ts.String(), p, err, ts)
	}
	return ts, true
}

// FuzzParse: Parse never panics; accepted strings round-trip exactly through
// String and through the binary encoding; and the string order of two
// accepted inputs is their Compare order, which is also their byte order.
func FuzzParse(f *testing.F) {
	for i, a := range goldenTimestamps {
		f.Add(a.String(), goldenTimestamps[(i+1)%len(goldenTimestamps)].String())
	}
	f.Add("", "0195a3b2c4d5.0000.00000000000000ab")
	f.Add("0195A3B2C4D5.0000.00000000000000ab", "0195a3b2c4d5-0000-00000000000000ab")
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, okA := checkParse(t, a)
		tb, okB := checkParse(t, b)
		if !okA || !okB {
			return
		}
		// a and b are the text forms of ta and tb (checkParse checked it).
		checkPair(t, ta, tb, func() string { return fmt.Sprintf("inputs %q, %q", a, b) })
	})
}

func checkParse(t *testing.T, s string) (clock.Timestamp, bool) {
	t.Helper()
	ts, err := clock.Parse(s)
	if err != nil {
		if !errors.Is(err, clock.ErrMalformed) {
			t.Fatalf("Parse(%q): %v, want ErrMalformed", s, err)
		}
		return ts, false
	}
	if ts.String() != s {
		t.Fatalf("String(Parse(%q)) = %q", s, ts.String())
	}
	enc := ts.Encode()
	if d, err := clock.Decode(enc[:]); err != nil || d != ts {
		t.Fatalf("Decode(Encode(%s)) = %s, %v", ts, d, err)
	}
	var u clock.Timestamp
	if err := u.UnmarshalText([]byte(s)); err != nil || u != ts {
		t.Fatalf("UnmarshalText(%q) = %s, %v", s, u, err)
	}
	return ts, true
}
