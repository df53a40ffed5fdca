package crdt

import (
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// TestLocalAssertMarkers: a container kept only by a concurrent edit inside
// it (its marker was removed) gets one marker from the next local change
// inside it, however many patches that change has and whether it is a map
// or a list; a change inside explicit containers adds none.
func TestLocalAssertMarkers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container draft.Value
		key       func(i int) draft.Segment // the i-th entry's segment
		empty     string                    // the container emptied, as JSON
	}{
		{"map", draft.EmptyMap(), func(i int) draft.Segment { return draft.Key(string(rune('a' + i))) }, "{}"},
		{"list", draft.EmptyList(), func(i int) draft.Segment { return draft.Index(i) }, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newReplica(t, 1, nil), newReplica(t, 2, nil)
			c := draft.Path{draft.Key("c")}
			at := func(i int) draft.Path { return append(c[:1:1], tc.key(i)) }
			set := func(i int, v int64) func(*draft.Draft) error {
				return func(x *draft.Draft) error {
					if tc.container.Kind() == draft.ListKind {
						return x.Insert(at(i), draft.Int(v))
					}
					return x.Set(at(i), draft.Int(v))
				}
			}
			b.apply(t, a.update(t, func(x *draft.Draft) error { return x.Set(c, tc.container) }))
			// Concurrently: a writes inside c, b removes c.
			inside := a.update(t, set(0, 1))
			removed := b.update(t, func(x *draft.Draft) error { return x.Delete(c) })
			a.apply(t, removed)
			b.apply(t, inside)
			// c lives on only through the entry; two writes into it in one
			// change make it explicit once.
			two := a.update(t, func(x *draft.Draft) error {
				if err := set(1, 2)(x); err != nil {
					return err
				}
				return set(2, 3)(x)
			})
			markers := 0
			for i := range two.Ops {
				if two.Ops[i].Kind == OpSet && two.Ops[i].Value.Kind() == tc.container.Kind() {
					markers++
				}
			}
			if markers != 1 || len(two.Ops) != 3 {
				t.Fatalf("change inside the kept container: %d ops, %d markers; want 3 and 1", len(two.Ops), markers)
			}
			// Explicit now: the next change adds no marker.
			if one := a.update(t, set(3, 4)); len(one.Ops) != 1 {
				t.Fatalf("change inside an explicit container: %d ops, want 1", len(one.Ops))
			}
			b.apply(t, a.ChangesSince(b.Version(), 0)...)
			// Emptying it leaves the container the author made explicit.
			empty := a.update(t, func(x *draft.Draft) error {
				for i := range 4 {
					if tc.container.Kind() == draft.ListKind {
						i = 0 // the rest move up
					}
					if err := x.Delete(at(i)); err != nil {
						return err
					}
				}
				return nil
			})
			b.apply(t, empty)
			want := `{"c":` + tc.empty + `}`
			if got, gotB := a.json(t), b.json(t); got != want || gotB != want {
				t.Fatalf("emptied: a %s, b %s; want %s", got, gotB, want)
			}
		})
	}
}
