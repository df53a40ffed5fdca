package mesh

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/syncmesh/syncmesh/clock"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// wireSamples is one representative message of every type, plus edge cases.
// Their encodings are the golden files under testdata/wire/.
func wireSamples() []struct {
	name string
	msg  Message
} {
	big := bytes.Repeat([]byte{0xab}, 300)
	return []struct {
		name string
		msg  Message
	}{
		{"change", &ChangeMsg{Change: Change{Replica: 7, Start: 1, End: 3, Data: []byte("ops")}}},
		{"change_big_ids", &ChangeMsg{Change: Change{Replica: 0xfedcba9876543210, Start: 1 << 40, End: 1<<40 + 200, Data: big}}},
		{"announce", &AnnounceMsg{From: "node-a", Replica: 7, Seq: 1000}},
		{"fetch", &FetchMsg{From: "node-b", Replica: 7, After: 999}},
		{"digest", &DigestMsg{From: "node-c", Version: VersionVector{3: 10, 1: 5, 2: 70000}, Reply: true}},
		{"digest_empty", &DigestMsg{From: "n", Version: VersionVector{}}},
		{"changes", &ChangesMsg{From: "node-d", Changes: []Change{
			{Replica: 1, Start: 1, End: 1, Data: []byte{1}},
			{Replica: 2, Start: 5, End: 9, Data: []byte{}},
		}, More: true}},
		{"snapshot_request", &SnapshotRequestMsg{From: "node-e"}},
		{"snapshot", &SnapshotMsg{From: "node-f", Version: VersionVector{9: 1}, Data: []byte("state")}},
	}
}

// normalize makes decoded and original messages comparable: nil and empty
// byte slices and version vectors are the same on the wire.
func normalize(m Message) Message {
	fix := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	fixV := func(v VersionVector) VersionVector {
		out := VersionVector{}
		for r, s := range v {
			if s > 0 {
				out[r] = s
			}
		}
		return out
	}
	switch m := m.(type) {
	case *ChangeMsg:
		c := *m
		c.Change.Data = fix(c.Change.Data)
		return &c
	case *DigestMsg:
		c := *m
		c.Version = fixV(c.Version)
		return &c
	case *ChangesMsg:
		c := *m
		c.Changes = nil
		for _, ch := range m.Changes {
			ch.Data = fix(ch.Data)
			c.Changes = append(c.Changes, ch)
		}
		return &c
	case *SnapshotMsg:
		c := *m
		c.Version = fixV(c.Version)
		c.Data = fix(c.Data)
		return &c
	}
	return m
}

func TestWireRoundTripAndGolden(t *testing.T) {
	for _, tc := range wireSamples() {
		t.Run(tc.name, func(t *testing.T) {
			b := Encode(tc.msg)
			if !bytes.Equal(b, Encode(tc.msg)) {
				t.Fatal("encoding is not deterministic")
			}
			path := filepath.Join("testdata", "wire", tc.name+".bin")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("wire bytes changed:\n got %x\nwant %x\n(a format change needs a protocol version bump; rerun with -update if intended)", b, want)
			}
			got, err := Decode(b, 0)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(tc.msg)) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, tc.msg)
			}
			// The payload is ordinary msgpack: a general-purpose decoder reads
			// it as an array with the message's field count.
			var generic []any
			if err := msgpack.Unmarshal(b[headerBytes:], &generic); err != nil {
				t.Fatalf("payload is not msgpack: %v", err)
			}
			if len(generic) == 0 {
				t.Fatal("payload decoded as an empty array")
			}
		})
	}
}

// TestMsgpackCompatibility checks the hand-written encoder against
// vmihailenco/msgpack for the primitives at every size boundary.
func TestMsgpackCompatibility(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<64 - 1} {
		var got uint64
		if err := msgpack.Unmarshal(appendUint(nil, v), &got); err != nil || got != v {
			t.Errorf("uint %d: got %d, %v", v, got, err)
		}
		r := &reader{b: appendUint(nil, v)}
		if x := r.uint("x"); r.err != nil || x != v {
			t.Errorf("reader uint %d: got %d, %v", v, x, r.err)
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := strings.Repeat("x", n)
		var got string
		if err := msgpack.Unmarshal(appendStr(nil, s), &got); err != nil || got != s {
			t.Errorf("str len %d: %v", n, err)
		}
		var gotB []byte
		if err := msgpack.Unmarshal(appendBin(nil, []byte(s)), &gotB); err != nil || string(gotB) != s {
			t.Errorf("bin len %d: %v", n, err)
		}
		arr := appendArrayHeader(nil, n)
		for range n {
			arr = appendUint(arr, 1)
		}
		var gotA []int
		if err := msgpack.Unmarshal(arr, &gotA); err != nil || len(gotA) != n {
			t.Errorf("array len %d: got %d, %v", n, len(gotA), err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := Encode(&DigestMsg{From: "a", Version: VersionVector{1: 2}})
	tests := []struct {
		name   string
		in     []byte
		max    int
		reason RejectReason
	}{
		{"empty", nil, 0, RejectEmpty},
		{"version", append([]byte{9}, valid[1:]...), 0, RejectVersion},
		{"no type", []byte{ProtocolVersion}, 0, RejectTruncated},
		{"type zero", []byte{ProtocolVersion, 0, 0x90}, 0, RejectType},
		{"type unknown", []byte{ProtocolVersion, byte(typeLimit), 0x90}, 0, RejectType},
		{"too large", valid, len(valid) - 1, RejectTooLarge},
		{"truncated", valid[:len(valid)-1], 0, RejectTruncated},
		{"trailing", append(append([]byte{}, valid...), 0), 0, RejectTrailing},
		{"not array", []byte{ProtocolVersion, byte(TypeDigest), 0x01}, 0, RejectMalformed},
		{"field count", []byte{ProtocolVersion, byte(TypeSnapshotRequest), 0x92, 0xa0, 0xa0}, 0, RejectMalformed},
		{"huge bin", []byte{ProtocolVersion, byte(TypeChange), 0x94, 1, 1, 1, 0xc6, 0xff, 0xff, 0xff, 0xff}, 0, RejectTooLarge},
		{"huge array", []byte{ProtocolVersion, byte(TypeChanges), 0x93, 0xa0, 0xdd, 0x7f, 0xff, 0xff, 0xff}, 0, RejectTooLarge},
		{"zero replica", Encode(&ChangeMsg{Change: Change{Replica: 0, Start: 1, End: 1}}), 0, RejectMalformed},
		{"end before start", Encode(&ChangeMsg{Change: Change{Replica: 1, Start: 5, End: 4}}), 0, RejectMalformed},
		{"vv unsorted", []byte{ProtocolVersion, byte(TypeDigest), 0x93, 0xa1, 'a', 0x94, 2, 1, 1, 1, 0xc2}, 0, RejectMalformed},
		{"vv zero seq", []byte{ProtocolVersion, byte(TypeDigest), 0x93, 0xa1, 'a', 0x92, 2, 0, 0xc2}, 0, RejectMalformed},
		{"vv odd", []byte{ProtocolVersion, byte(TypeDigest), 0x93, 0xa1, 'a', 0x91, 2, 0xc2}, 0, RejectMalformed},
		{"bad bool", []byte{ProtocolVersion, byte(TypeDigest), 0x93, 0xa1, 'a', 0x90, 0x01}, 0, RejectMalformed},
		{"name too long", Encode(&SnapshotRequestMsg{From: strings.Repeat("n", MaxNameBytes+1)}), 0, RejectTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.in, tc.max)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrDecode) {
				t.Fatalf("Decode = %#v, %v; want a *DecodeError", m, err)
			}
			if de.Reason != tc.reason {
				t.Fatalf("reason %q, want %q (%v)", de.Reason, tc.reason, err)
			}
			if !strings.HasPrefix(err.Error(), "mesh: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b := Encode(&ChangeMsg{Change: Change{Replica: 1, Start: 1, End: 1, Data: []byte("abc")}})
	m, err := Decode(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if got := string(m.(*ChangeMsg).Change.Data); got != "abc" {
		t.Fatalf("decoded data aliases the input: %q", got)
	}
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// re-encodes to bytes that decode to the same message.
func FuzzDecode(f *testing.F) {
	for _, tc := range wireSamples() {
		f.Add(Encode(tc.msg))
	}
	f.Add([]byte{ProtocolVersion, byte(TypeChanges), 0x93, 0xa0, 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("error %v is not ErrDecode", err)
			}
			return
		}
		if got, want := EncodedSize(m), len(Encode(m)); got != want {
			t.Fatalf("EncodedSize %d, encoded %d bytes", got, want)
		}
		again, err := Decode(Encode(m), 0)
		if err != nil {
			t.Fatalf("re-encoding of an accepted message is rejected: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(m)) {
			t.Fatalf("re-encode changed the message:\n%#v\n%#v", m, again)
		}
	})
}

// TestDecodeSharedAliasesOnlyChangeData checks that the Core's decoder
// keeps a gossiped change's data in the input and copies everything else,
// and that both decoders agree on the message.
func TestDecodeSharedAliasesOnlyChangeData(t *testing.T) {
	ch := Change{Replica: 3, Start: 1, End: 2, Data: []byte("payload")}
	tests := []struct {
		m     Message
		alias bool
	}{
		{&ChangeMsg{Change: ch}, true},
		{&ChangesMsg{From: "n", Changes: []Change{ch}}, false},
	}
	for _, tc := range tests {
		b := Encode(tc.m)
		m, err := decodeShared(b)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Decode(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(Encode(m), Encode(want)) {
			t.Fatalf("%T: decodeShared and Decode disagree", tc.m)
		}
		var data []byte
		switch m := m.(type) {
		case *ChangeMsg:
			data = m.Change.Data
		case *ChangesMsg:
			data = m.Changes[0].Data
		}
		inside := &b[len(b)-len(data)-1] // the More flag follows a Changes chunk's data
		if tc.alias {
			inside = &b[len(b)-len(data)]
		}
		if got := &data[0] == inside; got != tc.alias {
			t.Fatalf("%T: data aliases the input: %v, want %v", tc.m, got, tc.alias)
		}
	}
}

// TestEncodedSize checks EncodedSize against Encode for every message type
// with integers, strings, binaries, arrays and version vectors on each
// side of every msgpack size boundary.
func TestEncodedSize(t *testing.T) {
	ints := []uint64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<64 - 1}
	lens := []int{0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536, 70000}
	var msgs []Message
	for _, tc := range wireSamples() {
		msgs = append(msgs, tc.msg)
	}
	for _, v := range ints {
		r := clock.ReplicaID(max(v, 1))
		msgs = append(msgs,
			&ChangeMsg{Change: Change{Replica: r, Start: v, End: v, Data: []byte("x")}},
			&AnnounceMsg{From: "a", Replica: r, Seq: v},
			&FetchMsg{From: "f", Replica: r, After: v},
			&DigestMsg{From: "d", Version: VersionVector{r: v, 5: 1}},
		)
	}
	for _, n := range lens {
		name := strings.Repeat("n", n)
		data := make([]byte, n)
		changes := make([]Change, min(n, 300))
		for i := range changes {
			changes[i] = Change{Replica: 1, Start: uint64(i + 1), End: uint64(i + 1)}
		}
		v := VersionVector{}
		for i := range min(n, 300) {
			v[clock.ReplicaID(i+1)] = uint64(i) // one zero entry, left out
		}
		msgs = append(msgs,
			&ChangeMsg{Change: Change{Replica: 1, Start: 1, End: 1, Data: data}},
			&AnnounceMsg{From: name, Replica: 1, Seq: 1},
			&ChangesMsg{From: name, Changes: changes, More: n%2 == 0},
			&DigestMsg{From: name, Version: v, Reply: true},
			&SnapshotRequestMsg{From: name},
			&SnapshotMsg{From: "s", Version: v, Data: data},
		)
	}
	for i, m := range msgs {
		if got, want := EncodedSize(m), len(Encode(m)); got != want {
			t.Errorf("message %d (%T): EncodedSize %d, encoded %d bytes", i, m, got, want)
		}
	}
}
