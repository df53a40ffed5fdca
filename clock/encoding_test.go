package clock_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenTimestamps are the timestamps in testdata/timestamps.bin (16 bytes
// each, in this order) and testdata/timestamps.txt (one per line).
var goldenTimestamps = []clock.Timestamp{
	{},
	{Wall: 0, Logical: 0, Replica: 1},
	{Wall: 1_764_028_800_000, Logical: 0, Replica: 0xab},                // 2025-11-25T00:00:00Z
	{Wall: 1_795_564_800_123, Logical: 42, Replica: 0x0123456789abcdef}, // 2026-11-25T00:00:00.123Z
	{Wall: 1_795_564_800_123, Logical: 65535, Replica: 0xfedcba9876543210},
	{Wall: clock.MaxWall, Logical: 65535, Replica: 0xffffffffffffffff},
}

func TestGolden(t *testing.T) {
	var bin, txt bytes.Buffer
	for _, ts := range goldenTimestamps {
		bin.Write(ts.AppendEncode(nil))
		txt.WriteString(ts.String() + "\n")
	}
	for _, f := range []struct {
		name string
		got  []byte
	}{{"timestamps.bin", bin.Bytes()}, {"timestamps.txt", txt.Bytes()}} {
		path := filepath.Join("testdata", f.name)
		if *update {
			if err := os.WriteFile(path, f.got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./clock -run TestGolden -update to create it)", err)
		}
		if !bytes.Equal(f.got, want) {
			t.Errorf("%s changed: a format change breaks persisted and wire data.\ngot  %q\nwant %q", path, f.got, want)
		}
	}
	// And the files decode back to the same timestamps.
	raw, _ := os.ReadFile(filepath.Join("testdata", "timestamps.bin"))
	lines, _ := os.ReadFile(filepath.Join("testdata", "timestamps.txt"))
	text := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")
	if len(raw) != len(goldenTimestamps)*clock.EncodedLen || len(text) != len(goldenTimestamps) {
		t.Fatalf("golden files hold %d bytes and %d lines for %d timestamps", len(raw), len(text), len(goldenTimestamps))
	}
	for i, want := range goldenTimestamps {
		got, err := clock.Decode(raw[i*clock.EncodedLen : (i+1)*clock.EncodedLen])
		if err != nil || got != want {
			t.Errorf("binary %d: Decode = %s, %v; want %s", i, got, err, want)
		}
		got, err = clock.Parse(text[i])
		if err != nil || got != want {
			t.Errorf("text %d: Parse(%q) = %s, %v; want %s", i, text[i], got, err, want)
		}
	}
}

func TestTextForm(t *testing.T) {
	ts := clock.Timestamp{Wall: 0x0195a3b2c4d5, Logical: 0, Replica: 0xab}
	if got, want := ts.String(), "0195a3b2c4d5.0000.00000000000000ab"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if len(ts.String()) != clock.TextLen {
		t.Fatalf("TextLen %d, String has %d", clock.TextLen, len(ts.String()))
	}
	if got := clock.ReplicaID(0xab).String(); got != "00000000000000ab" {
		t.Fatalf("ReplicaID.String() = %q", got)
	}
	bad := clock.Timestamp{Wall: -1, Replica: 1}
	if s := bad.String(); !strings.HasPrefix(s, "invalid(") {
		t.Fatalf("String() of invalid timestamp = %q", s)
	}
	if _, err := bad.MarshalText(); !errors.Is(err, clock.ErrMalformed) {
		t.Fatalf("MarshalText of invalid timestamp: %v", err)
	}
	if _, err := clock.Parse(bad.String()); err == nil {
		t.Fatalf("Parse accepted the diagnostic form %q", bad.String())
	}
}

func TestParseRejects(t *testing.T) {
	good := "0195a3b2c4d5.0000.00000000000000ab"
	if _, err := clock.Parse(good); err != nil {
		t.Fatalf("Parse(%q): %v", good, err)
	}
	for _, s := range []string{
		"",
		good[:len(good)-1],
		good + "0",
		"0195A3B2C4D5.0000.00000000000000ab", // uppercase
		"0195a3b2c4d5-0000.00000000000000ab", // separator
		"0195a3b2c4d5.0000-00000000000000ab",
		"0195a3b2c4d5.0000.00000000000000ag", // bad hex
		"+195a3b2c4d5.0000.00000000000000ab",
		" 195a3b2c4d5.0000.00000000000000ab",
		"0195a3b2c4d5..000.00000000000000ab",
		"0x95a3b2c4d5.0000.00000000000000ab",
		"0195a3b2c4d5.0000.000000000000_0ab",
	} {
		if ts, err := clock.Parse(s); !errors.Is(err, clock.ErrMalformed) {
			t.Errorf("Parse(%q) = %s, %v; want ErrMalformed", s, ts, err)
		}
	}
}

func TestParseReplicaID(t *testing.T) {
	for s, want := range map[string]clock.ReplicaID{"00000000000000ab": 0xab, "ffffffffffffffff": ^clock.ReplicaID(0)} {
		if got, err := clock.ParseReplicaID(s); err != nil || got != want {
			t.Errorf("ParseReplicaID(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "ab", "0000000000000000", "00000000000000AB", "00000000000000ab0", "-0000000000000ab"} {
		if _, err := clock.ParseReplicaID(s); !errors.Is(err, clock.ErrMalformed) {
			t.Errorf("ParseReplicaID(%q): %v, want ErrMalformed", s, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, n := range []int{0, 1, 15, 17, 32} {
		if _, err := clock.Decode(make([]byte, n)); !errors.Is(err, clock.ErrMalformed) {
			t.Errorf("Decode(%d bytes): %v, want ErrMalformed", n, err)
		}
	}
}

func TestEncodeInvalidPanics(t *testing.T) {
	for _, ts := range []clock.Timestamp{{Wall: -1}, {Wall: clock.MaxWall + 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Encode(%+v) did not panic", ts)
				}
			}()
			ts.Encode()
		}()
		if err := ts.Validate(); !errors.Is(err, clock.ErrMalformed) {
			t.Errorf("Validate(%+v) = %v", ts, err)
		}
	}
}

// randomTimestamp draws timestamps that often share Wall or Logical, so that
// every level of the order is exercised.
func randomTimestamp(rng *rand.Rand) clock.Timestamp {
	pick := func(small, full uint64) uint64 {
		if rng.IntN(2) == 0 {
			return rng.Uint64N(small)
		}
		return rng.Uint64() % full
	}
	return clock.Timestamp{
		Wall:    int64(pick(3, clock.MaxWall+1)),
		Logical: uint16(pick(3, 1<<16)),
		Replica: clock.ReplicaID(pick(3, ^uint64(0))),
	}
}

func TestOrderPreserved(t *testing.T) {
	const seed = 4242
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range 20_000 {
		a, b := randomTimestamp(rng), randomTimestamp(rng)
		checkPair(t, a, b, func() string { return fmt.Sprintf("seed %d, pair %d", seed, i) })
	}
}

// checkPair checks round trips and order preservation for a and b.
func checkPair(t *testing.T, a, b clock.Timestamp, where func() string) {
	t.Helper()
	want := a.Compare(b)
	if -want != b.Compare(a) || (want == 0) != (a == b) || a.Less(b) != (want < 0) {
		t.Fatalf("%s: Compare(%s, %s) = %d is inconsistent", where(), a, b, want)
	}
	ea, eb := a.Encode(), b.Encode()
	if got := bytes.Compare(ea[:], eb[:]); got != want {
		t.Fatalf("%s: bytes.Compare of encodings of %s, %s = %d, Compare = %d", where(), a, b, got, want)
	}
	if got := strings.Compare(a.String(), b.String()); got != want {
		t.Fatalf("%s: strings.Compare(%q, %q) = %d, Compare = %d", where(), a, b, got, want)
	}
	for _, ts := range []clock.Timestamp{a, b} {
		enc := ts.Encode()
		if d, err := clock.Decode(enc[:]); err != nil || d != ts {
			t.Fatalf("%s: Decode(Encode(%s)) = %s, %v", where(), ts, d, err)
		}
		if p, err := clock.Parse(ts.String()); err != nil || p != ts {
			t.Fatalf("%s: Parse(String(%s)) = %s, %v", where(), ts, p, err)
		}
	}
}

func TestAppendEncode(t *testing.T) {
	ts := goldenTimestamps[3]
	prefix := []byte("xy")
	got := ts.AppendEncode(prefix)
	enc := ts.Encode()
	if !bytes.Equal(got, append([]byte("xy"), enc[:]...)) {
		t.Fatalf("AppendEncode = %x", got)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = ts.AppendEncode(buf[:0]) }); n != 0 {
		t.Fatalf("AppendEncode into a buffer with room allocates %v times", n)
	}
	txt, err := ts.AppendText([]byte("ts="))
	if err != nil || string(txt) != "ts="+ts.String() {
		t.Fatalf("AppendText = %q, %v", txt, err)
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		At   clock.Timestamp         `json:"at"`
		Seen map[clock.Timestamp]int `json:"seen"`
	}
	ts := goldenTimestamps[3]
	in := doc{At: ts, Seen: map[clock.Timestamp]int{ts: 1}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"at":"` + ts.String() + `","seen":{"` + ts.String() + `":1}}`
	if string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out.At != ts || out.Seen[ts] != 1 {
		t.Fatalf("Unmarshal = %+v, %v", out, err)
	}
	var bad clock.Timestamp
	if err := json.Unmarshal([]byte(`"nope"`), &bad); !errors.Is(err, clock.ErrMalformed) || !bad.IsZero() {
		t.Fatalf("Unmarshal of a bad timestamp: %v, left %s", err, bad)
	}
}
