package store

import (
	"bytes"
	"maps"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, []byte("hello")))
	f.Add(appendRecord(nil, nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(appendRecord(nil, p), b) {
			t.Fatalf("record %x does not re-encode", b)
		}
	})
}

func FuzzDecodeVV(f *testing.F) {
	f.Add(appendVV(nil, VersionVector{1: 5, 7: 2}))
	f.Add(appendVV(nil, nil))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeVV(b)
		if err != nil {
			return
		}
		if !bytes.Equal(appendVV(nil, v), b) {
			t.Fatalf("vv %x does not re-encode", b)
		}
		v2, err := decodeVV(appendVV(nil, v))
		if err != nil || !maps.Equal(v, v2) {
			t.Fatalf("vv %v round trip: %v %v", v, v2, err)
		}
	})
}

func FuzzDecodeChange(f *testing.F) {
	f.Add(appendChange(nil, ch(1, 2, 3)))
	f.Add(make([]byte, logKeyLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChange(b)
		if err != nil {
			return
		}
		if !c.valid() || !bytes.Equal(appendChange(nil, c), b) {
			t.Fatalf("change %x: %+v", b, c)
		}
	})
}
