package crdt

import (
	"math"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// TestLocalOpSharing checks which local one-op changes share the previous
// one's op, and that a replica given the changes ends equal either way.
func TestLocalOpSharing(t *testing.T) {
	st := NewStrategies().MustSet("/c", Count()).MustSet("/f", Count())
	a := newReplica(t, 1, st)
	c, f, k := draft.Path{draft.Key("c")}, draft.Path{draft.Key("f")}, draft.Path{draft.Key("k")}
	up := func(name string, fn func(*draft.Draft) error) *Change {
		t.Helper()
		ch, err := a.Update(fn)
		if err != nil || ch == nil {
			t.Fatalf("%s: update: %v %v", name, ch, err)
		}
		return ch
	}
	inc := func(p draft.Path, v draft.Value) func(*draft.Draft) error {
		return func(x *draft.Draft) error { return x.Increment(p, v) }
	}
	set := func(p draft.Path, v draft.Value) func(*draft.Draft) error {
		return func(x *draft.Draft) error { return x.Set(p, v) }
	}
	steps := []struct {
		name  string
		fn    func(*draft.Draft) error
		share bool // shares the previous change's op
	}{
		{"first set", set(c, draft.Int(0)), false},
		{"first increment", inc(c, draft.Int(1)), false},
		{"same increment", inc(c, draft.Int(1)), true},
		{"same again", inc(c, draft.Int(1)), true},
		{"other delta", inc(c, draft.Int(2)), false},
		{"create another counter", set(f, draft.Int(0)), false},
		{"other key", inc(f, draft.Int(2)), false},
		{"float delta", inc(f, draft.Float(0.5)), false},
		{"float delta again", inc(f, draft.Float(0.5)), true},
		{"a set without Pred", set(k, draft.String("x")), false},
		{"a set with Pred never shares", set(k, draft.String("y")), false},
		{"nor its twin", set(k, draft.String("x")), false},
	}
	var prev *Change
	var all []*Change
	for _, s := range steps {
		ch := up(s.name, s.fn)
		if len(ch.Ops) != 1 {
			t.Fatalf("%s: %d ops", s.name, len(ch.Ops))
		}
		if got := prev != nil && &prev.Ops[0] == &ch.Ops[0]; got != s.share {
			t.Errorf("%s: shares %v, want %v", s.name, got, s.share)
		}
		if cap(ch.Ops) != 1 {
			t.Errorf("%s: ops capacity %d: an append would write into the room of another change", s.name, cap(ch.Ops))
		}
		prev = ch
		all = append(all, ch)
	}
	// Round trip through the wire and into a second replica.
	b := newReplica(t, 2, st)
	for _, ch := range all {
		dec, err := DecodeChange(EncodeChange(ch))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Apply(dec); err != nil {
			t.Fatal(err)
		}
	}
	if ja, jb := mustJSON(t, a.State()), mustJSON(t, b.State()); ja != jb {
		t.Fatalf("states differ: %s vs %s", ja, jb)
	}
	if got := mustJSON(t, a.State()); got != `{"c":5,"f":3.0,"k":"x"}` {
		t.Fatalf("state %s", got)
	}
	// -0 and 0 are equal values but not the same op (their encodings
	// differ).
	z, nz := Op{Kind: OpInc, Key: KeySeg("f"), Value: draft.Float(0)}, Op{Kind: OpInc, Key: KeySeg("f"), Value: draft.Float(math.Copysign(0, -1))}
	if sameOp(&z, &nz) || !sameOp(&nz, &nz) {
		t.Error("sameOp: -0 and 0")
	}
}
