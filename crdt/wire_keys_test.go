package crdt

import (
	"fmt"
	"testing"
	"unsafe"
)

// The batch decoder's key table returns the key it was given, and the same
// string (one copy) for every repeat while it has room.
func TestKeyTableInterns(t *testing.T) {
	var k keyTable
	first := map[string]string{}
	for round := range 3 {
		for i := range 5000 {
			key := fmt.Sprintf("key%d", i)
			got := k.intern([]byte(key))
			if got != key {
				t.Fatalf("round %d: interned %q as %q", round, key, got)
			}
			if round == 0 {
				first[key] = got
			} else if unsafe.StringData(got) != unsafe.StringData(first[key]) {
				t.Fatalf("round %d: %q copied again", round, key)
			}
		}
	}
	if got := k.intern(nil); got != "" {
		t.Fatalf("empty key interned as %q", got)
	}
}

// Past maxKeys the table still returns correct keys (copies).
func TestKeyTableFull(t *testing.T) {
	var k keyTable
	for i := range maxKeys + 100 {
		key := fmt.Sprintf("%x", i)
		if got := k.intern([]byte(key)); got != key {
			t.Fatalf("interned %q as %q", key, got)
		}
	}
	if k.n != maxKeys {
		t.Fatalf("table holds %d keys, limit %d", k.n, maxKeys)
	}
}
