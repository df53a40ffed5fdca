package store

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenRecords pins the on-disk encodings: a change here is a format
// change and needs a formatVersion bump.
func TestGoldenRecords(t *testing.T) {
	ts := clock.Timestamp{Wall: 1764000000000, Logical: 3, Replica: 42}
	enc := ts.Encode()
	cases := []struct {
		name string
		b    []byte
	}{
		{"record(hello)", appendRecord(nil, []byte("hello"))},
		{"record(empty)", appendRecord(nil, nil)},
		{"logkey(42,5,7)", logKey(Change{Replica: 42, Start: 5, End: 7})},
		{"vv{1:5,7:2}", appendVV(nil, VersionVector{7: 2, 1: 5, 9: 0})},
		{"vv{}", appendVV(nil, nil)},
		{"change(42,5,7,data)", appendChange(nil, Change{Replica: 42, Start: 5, End: 7, Data: []byte("data")})},
		{"record(clock)", appendRecord(nil, enc[:])},
	}
	var sb strings.Builder
	sb.WriteString("# mesh/store on-disk encodings, format version 1 (name: hex)\n")
	for _, c := range cases {
		sb.WriteString(c.name + ": " + hex.EncodeToString(c.b) + "\n")
	}
	path := filepath.Join("testdata", "encodings.golden")
	if *update {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := sb.String(); got != string(want) {
		t.Fatalf("encodings changed (run with -update if intended, and bump formatVersion):\n%s\nwant:\n%s", got, want)
	}
}
