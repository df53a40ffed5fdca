package crdt

import (
	"errors"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

func TestStrategyLookupSpecificity(t *testing.T) {
	st := NewStrategies().
		MustSet("/inventory/*/qty", Count()).
		MustSet("/inventory/apple/qty", Maximum()).
		MustSet("/*/x/qty", Minimum()).
		MustSet("/tags", Multi())
	cases := []struct {
		path []Segment
		want StrategyKind
	}{
		{[]Segment{KeySeg("inventory"), KeySeg("pear"), KeySeg("qty")}, Counter},
		{[]Segment{KeySeg("inventory"), KeySeg("apple"), KeySeg("qty")}, Max},
		{[]Segment{KeySeg("inventory"), KeySeg("x"), KeySeg("qty")}, Counter}, // literal first segment beats *
		{[]Segment{KeySeg("other"), KeySeg("x"), KeySeg("qty")}, Min},
		{[]Segment{KeySeg("tags")}, MultiValue},
		{[]Segment{KeySeg("tags"), KeySeg("a")}, LastWriterWins},
		{[]Segment{KeySeg("inventory"), ElemSeg(OpID{Replica: 1, Seq: 1}), KeySeg("qty")}, Counter},
	}
	for _, c := range cases {
		if got := st.lookup(c.path).Kind; got != c.want {
			t.Errorf("%s: %s, want %s", formatSegs(c.path), got, c.want)
		}
	}
}

func TestStrategyErrorsAndFingerprint(t *testing.T) {
	st := NewStrategies()
	for _, bad := range []string{"", "no-slash"} {
		if err := st.Set(bad, LWW()); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := st.Set("/x", Strategy{Kind: Custom}); !errors.Is(err, ErrConfig) {
		t.Errorf("custom without function: %v", err)
	}
	a := NewStrategies().MustSet("/a", Count()).MustSet("/b/*", Multi())
	b := NewStrategies().MustSet("/b/*", Multi()).MustSet("/a", Count())
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatal("fingerprint depends on insertion order")
	}
	c := NewStrategies().MustSet("/a", Count()).MustSet("/b/*", Maximum())
	if a.Fingerprint() == c.Fingerprint() {
		t.Fatal("different tables, same fingerprint")
	}
	var none *Strategies
	if none.Fingerprint() != NewStrategies().Fingerprint() {
		t.Fatal("nil and empty tables differ")
	}
}

func TestCheckMergeLaws(t *testing.T) {
	maxNum := func(a, b draft.Value) draft.Value {
		x, aok := a.AsFloat()
		y, bok := b.AsFloat()
		switch {
		case aok && bok && x == y:
			if a.Kind() <= b.Kind() {
				return a
			}
			return b
		case aok && bok && x > y, aok && !bok:
			return a
		case bok:
			return b
		}
		as, _ := a.MarshalJSON()
		bs, _ := b.MarshalJSON()
		if string(as) >= string(bs) {
			return a
		}
		return b
	}
	if err := CheckMergeLaws(maxNum, nil, 2000, 1); err != nil {
		t.Fatalf("lawful function rejected: %v", err)
	}
	first := func(a, b draft.Value) draft.Value { return a }
	err := CheckMergeLaws(first, nil, 2000, 1)
	var le *LawError
	if !errors.As(err, &le) || le.Law != "commutative" || !errors.Is(err, ErrLaw) {
		t.Fatalf("non-commutative function: %v", err)
	}
	sum := func(a, b draft.Value) draft.Value {
		x, _ := a.AsFloat()
		y, _ := b.AsFloat()
		return draft.Float(x + y)
	}
	if err := CheckMergeLaws(sum, nil, 2000, 1); !errors.As(err, &le) || le.Law != "idempotent" {
		t.Fatalf("sum: %v", err)
	}
}
