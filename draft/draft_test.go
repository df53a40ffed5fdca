package draft

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func mustJSON(t *testing.T, x any) string {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parse(t *testing.T, s string) Value {
	t.Helper()
	v, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkRoundTrip verifies Apply(base, fwd) == next and Apply(next, inv) == base.
func checkRoundTrip(t *testing.T, base, next Value, fwd, inv []Patch) {
	t.Helper()
	got, err := Apply(base, fwd)
	if err != nil {
		t.Fatalf("apply patches: %v\npatches %s", err, mustJSON(t, fwd))
	}
	if !got.Equal(next) {
		t.Fatalf("apply patches: got %v want %v\npatches %s", got, next, mustJSON(t, fwd))
	}
	back, err := Apply(next, inv)
	if err != nil {
		t.Fatalf("apply inverse: %v\ninverse %s", err, mustJSON(t, inv))
	}
	if !back.Equal(base) {
		t.Fatalf("apply inverse: got %v want %v\ninverse %s", back, base, mustJSON(t, inv))
	}
}

func TestProduceBasics(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		recipe  func(d *Draft) error
		want    string
		patches string
		inverse string
	}{
		{"set new key", `{"a":1}`, func(d *Draft) error { return d.Root().Set("b", Int(2)) },
			`{"a":1,"b":2}`, `[{"op":"add","path":"/b","value":2}]`, `[{"op":"remove","path":"/b"}]`},
		{"replace key", `{"a":1}`, func(d *Draft) error { return d.Root().Set("a", String("x")) },
			`{"a":"x"}`, `[{"op":"replace","path":"/a","value":"x"}]`, `[{"op":"replace","path":"/a","value":1}]`},
		{"delete key", `{"a":1,"b":2}`, func(d *Draft) error { return d.Root().Delete("a") },
			`{"b":2}`, `[{"op":"remove","path":"/a"}]`, `[{"op":"add","path":"/a","value":1}]`},
		{"increment", `{"n":1}`, func(d *Draft) error { return d.Root().Increment("n", Int(2)) },
			`{"n":3}`, `[{"op":"replace","path":"/n","value":3,"delta":2}]`, `[{"op":"replace","path":"/n","value":1,"delta":-2}]`},
		{"increments sum", `{"n":1}`, func(d *Draft) error {
			_ = d.Root().Increment("n", Int(2))
			return d.Root().Increment("n", Int(3))
		}, `{"n":6}`, `[{"op":"replace","path":"/n","value":6,"delta":5}]`, `[{"op":"replace","path":"/n","value":1,"delta":-5}]`},
		{"nested set", `{"u":{"a":{"age":1}}}`, func(d *Draft) error { return d.Map("u").Map("a").Set("age", Int(2)) },
			`{"u":{"a":{"age":2}}}`, `[{"op":"replace","path":"/u/a/age","value":2}]`, `[{"op":"replace","path":"/u/a/age","value":1}]`},
		{"insert two", `{"l":[1,2]}`, func(d *Draft) error { return d.List("l").Insert(1, Int(7), Int(8)) },
			`{"l":[1,7,8,2]}`, `[{"op":"add","path":"/l/1","value":7},{"op":"add","path":"/l/2","value":8}]`,
			`[{"op":"remove","path":"/l/2"},{"op":"remove","path":"/l/1"}]`},
		{"remove range", `{"l":[1,2,3,4]}`, func(d *Draft) error { return d.List("l").RemoveRange(1, 2) },
			`{"l":[1,4]}`, `[{"op":"remove","path":"/l/1"},{"op":"remove","path":"/l/1"}]`,
			`[{"op":"add","path":"/l/1","value":3},{"op":"add","path":"/l/1","value":2}]`},
		{"move", `{"l":[1,2,3]}`, func(d *Draft) error { return d.List("l").Move(0, 2) },
			`{"l":[2,3,1]}`, `[{"op":"move","path":"/l/2","from":"/l/0"}]`, `[{"op":"move","path":"/l/0","from":"/l/2"}]`},
		{"add then fill folds", `{}`, func(d *Draft) error {
			_ = d.Root().Set("u", EmptyMap())
			_ = d.Map("u").Set("a", Int(1))
			_ = d.Root().Set("l", EmptyList())
			return d.List("l").Append(Int(1))
		}, `{"l":[1],"u":{"a":1}}`, `[{"op":"add","path":"/u","value":{"a":1}},{"op":"add","path":"/l","value":[1]}]`,
			`[{"op":"remove","path":"/l"},{"op":"remove","path":"/u"}]`},
		{"add then delete vanishes", `{"a":1}`, func(d *Draft) error {
			_ = d.Root().Set("b", Int(1))
			return d.Root().Delete("b")
		}, `{"a":1}`, `null`, `null`},
		{"set back vanishes", `{"a":1}`, func(d *Draft) error {
			_ = d.Root().Set("a", Int(5))
			return d.Root().Set("a", Int(1))
		}, `{"a":1}`, `null`, `null`},
		{"insert then remove is identity", `{"l":[1]}`, func(d *Draft) error {
			_ = d.List("l").Append(Int(2))
			return d.List("l").Delete(1)
		}, `{"l":[1]}`, `null`, `null`},
		{"root replace", `{"a":1}`, func(d *Draft) error { return d.Set(Path{}, ListOf(Int(1))) },
			`[1]`, `[{"op":"replace","path":"","value":[1]}]`, `[{"op":"replace","path":"","value":{"a":1}}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := parse(t, tc.base)
			next, fwd, inv, err := Produce(base, tc.recipe)
			if err != nil {
				t.Fatal(err)
			}
			if got := next.String(); got != tc.want {
				t.Fatalf("next = %s, want %s", got, tc.want)
			}
			if got := mustJSON(t, fwd); got != tc.patches {
				t.Errorf("patches = %s, want %s", got, tc.patches)
			}
			if got := mustJSON(t, inv); got != tc.inverse {
				t.Errorf("inverse = %s, want %s", got, tc.inverse)
			}
			if fwd == nil && !next.Same(base) {
				t.Errorf("no patches but next is not base")
			}
			checkRoundTrip(t, base, next, fwd, inv)
		})
	}
}

func TestProduceErrors(t *testing.T) {
	base := parse(t, `{"m":{"a":1},"l":[1,2],"s":"x"}`)
	tests := []struct {
		name   string
		recipe func(d *Draft) error
		want   error
	}{
		{"missing map", func(d *Draft) error { return d.Map("nope").Set("a", Int(1)) }, ErrNotFound},
		{"key in list", func(d *Draft) error { return d.Map("l").Set("a", Int(1)) }, ErrWrongType},
		{"list op on map", func(d *Draft) error { return d.List("m").Append(Int(1)) }, ErrWrongType},
		{"index range set", func(d *Draft) error { return d.List("l").Set(2, Int(1)) }, ErrIndexRange},
		{"index range insert", func(d *Draft) error { return d.List("l").Insert(3, Int(1)) }, ErrIndexRange},
		{"negative insert", func(d *Draft) error { return d.List("l").Insert(-1, Int(1)) }, ErrIndexRange},
		{"remove range", func(d *Draft) error { return d.List("l").RemoveRange(1, 2) }, ErrIndexRange},
		{"move range", func(d *Draft) error { return d.List("l").Move(0, 2) }, ErrIndexRange},
		{"delete missing", func(d *Draft) error { return d.Map("m").Delete("zz") }, ErrNotFound},
		{"increment string", func(d *Draft) error { return d.Root().Increment("s", Int(1)) }, ErrWrongType},
		{"increment by string", func(d *Draft) error { return d.Map("m").Increment("a", String("1")) }, ErrWrongType},
		{"increment missing", func(d *Draft) error { return d.Map("m").Increment("b", Int(1)) }, ErrNotFound},
		{"set invalid", func(d *Draft) error { return d.Map("m").Set("b", Value{}) }, ErrBadValue},
		{"through scalar", func(d *Draft) error { return d.Map("s").Set("b", Int(1)) }, ErrWrongType},
		{"delete root", func(d *Draft) error { return d.Delete(Path{}) }, ErrBadPatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, fwd, inv, err := Produce(base, func(d *Draft) error {
				// A change before the failure must not leak.
				if err := d.Root().Set("zzz", Int(1)); err != nil {
					return err
				}
				return tc.recipe(d)
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var pe *PathError
			if tc.want != ErrFinished && !errors.As(err, &pe) {
				t.Fatalf("err %v is not a *PathError", err)
			}
			if !next.Same(base) || fwd != nil || inv != nil {
				t.Fatalf("failed produce leaked: %v %v", next, fwd)
			}
			if base.Has("zzz") {
				t.Fatal("base modified")
			}
		})
	}
}

func TestFinishedDraft(t *testing.T) {
	d := NewDraft(EmptyMap())
	_ = d.Root().Set("a", Int(1))
	next, _, _, err := d.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Root().Set("b", Int(1)); !errors.Is(err, ErrFinished) {
		t.Fatalf("set after finish: %v", err)
	}
	if _, _, _, err := d.Finish(); !errors.Is(err, ErrFinished) {
		t.Fatalf("second finish: %v", err)
	}
	if _, err := d.Get(P("a")); !errors.Is(err, ErrFinished) {
		t.Fatalf("get after finish: %v", err)
	}
	for _, err := range []error{
		d.List("l").Append(Int(1)), d.Delete(P("a")), d.Increment(P("a"), Int(1)),
		d.RemoveRange(P("l"), 0, 1), d.Move(P("l"), 0, 1), d.Insert(P("l", 0), Int(1)),
	} {
		if !errors.Is(err, ErrFinished) {
			t.Fatalf("op after finish: %v", err)
		}
	}
	if next.String() != `{"a":1}` || d.IsModified() || d.Current().IsValid() {
		t.Fatal("unexpected state after finish")
	}
}

func TestOriginalCurrentIsModified(t *testing.T) {
	base := parse(t, `{"a":{"b":1}}`)
	d := NewDraft(base)
	if d.IsModified() {
		t.Fatal("fresh draft modified")
	}
	_ = d.Map("a").Set("b", Int(2))
	cur := d.Current()
	_ = d.Map("a").Set("b", Int(3))
	if cur.String() != `{"a":{"b":2}}` {
		t.Fatalf("current snapshot changed: %v", cur)
	}
	if !d.Original().Same(base) || !d.IsModified() {
		t.Fatal("original/isModified")
	}
	if d.Map("a").Original().String() != `{"b":1}` {
		t.Fatal("sub-draft original")
	}
	got, _ := d.Map("a").Get("b")
	if got.String() != "3" {
		t.Fatal("get")
	}
}

func TestGetSnapshotIsFrozen(t *testing.T) {
	base := parse(t, `{"a":{"b":1},"l":[1,2,3]}`)
	_, _, _, err := Produce(base, func(d *Draft) error {
		_ = d.Map("a").Set("b", Int(2))
		snap, _ := d.Root().Get("a")
		_ = d.Map("a").Set("b", Int(3))
		_ = d.Root().Set("c", snap) // aliasing a read value
		_ = d.Map("a").Set("b", Int(4))
		c, _ := d.Root().Get("c")
		if snap.String() != `{"b":2}` || c.String() != `{"b":2}` {
			t.Errorf("snapshot changed: %v %v", snap, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSharing(t *testing.T) {
	base := parse(t, `{"a":{"x":[1,2]},"b":{"y":{"z":1}},"c":[{"k":1},{"k":2}]}`)
	next, _, _, err := Produce(base, func(d *Draft) error {
		return d.Map("b").Map("y").Set("z", Int(2))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "c"} {
		x, _ := base.Get(k)
		y, _ := next.Get(k)
		if !x.Same(y) {
			t.Errorf("%s not shared", k)
		}
	}
	x, _ := base.Get("b")
	y, _ := next.Get("b")
	if x.Same(y) {
		t.Error("changed subtree shared")
	}
}

// A value folded into an earlier patch and then overwritten through an
// ancestor must keep its inverse even if the final value equals the
// original (found by the long-recipe oracle test).
func TestFoldedEntryOverwrittenByAncestor(t *testing.T) {
	for _, scanLimit := range []int{smallEpoch, 0} {
		base := parse(t, `{"c":[]}`)
		next, fwd, inv, err := produce(base, func(d *Draft) error {
			if err := d.Root().Set("c", ListOf(String("d"))); err != nil {
				return err
			}
			if err := d.List("c").Append(String("e")); err != nil {
				return err
			}
			return d.Set(Path{}, parse(t, `{"c":[],"x":1}`))
		}, scanLimit)
		if err != nil {
			t.Fatal(err)
		}
		if next.String() != `{"c":[],"x":1}` {
			t.Fatalf("next %v", next)
		}
		checkRoundTrip(t, base, next, fwd, inv)
	}
}

// TestSubDraftsAfterFinish keeps sub-draft handles past the end of their
// produce (which gives its working state back for reuse) and checks that
// every method reports a finished draft, also while another produce runs,
// and never reaches into the other produce's state.
func TestSubDraftsAfterFinish(t *testing.T) {
	base := parse(t, `{"m":{"a":1},"l":[1,2]}`)
	var m *MapDraft
	var l *ListDraft
	var d0 *Draft
	for _, fail := range []bool{false, true} {
		_, _, _, err := Produce(base, func(d *Draft) error {
			d0, m, l = d, d.Map("m"), d.List("l")
			if err := m.Set("b", Int(2)); err != nil {
				return err
			}
			if fail {
				return ErrBadValue
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("produce (fail %v): %v", fail, err)
		}
		next, p, _, err := Produce(base, func(d *Draft) error {
			for _, err := range []error{m.Set("c", Int(3)), m.Delete("a"), m.Increment("a", Int(1)),
				m.Map("x").Set("y", Int(1)), l.Set(0, Int(9)), l.Insert(0, Int(0)), l.Append(Int(3)),
				l.RemoveRange(0, 1), l.Delete(0), l.Move(0, 1), l.Increment(0, Int(1)),
				l.Map(0).Set("k", Int(1)), d0.Set(P("m", "z"), Int(1))} {
				if !errors.Is(err, ErrFinished) {
					return fmt.Errorf("op on a finished sub-draft: %v", err)
				}
			}
			if _, ok := m.Get("a"); ok || m.Has("a") || m.Len() != 0 || m.Value().IsValid() ||
				l.Len() != 0 || l.Value().IsValid() || d0.IsModified() || d0.Current().IsValid() {
				return errors.New("read through a finished sub-draft")
			}
			if m.Path().String() != "/m" || l.Path().String() != "/l" || m.Original().String() != `{"a":1}` {
				return errors.New("finished sub-draft lost its path or original")
			}
			return d.Map("m").Set("d", Int(4))
		})
		if err != nil || next.String() != `{"l":[1,2],"m":{"a":1,"d":4}}` || len(p) != 1 {
			t.Fatalf("produce beside finished sub-drafts (fail %v): %v %v %v", fail, err, next, p)
		}
	}
}

// TestRecipeFinishesItsDraft has a recipe finish its own draft and then
// fail: Produce still returns base and the error.
func TestRecipeFinishesItsDraft(t *testing.T) {
	base := parse(t, `{"a":1}`)
	next, p, _, err := Produce(base, func(d *Draft) error {
		if err := d.Root().Set("a", Int(2)); err != nil {
			return err
		}
		if _, _, _, err := d.Finish(); err != nil {
			return err
		}
		return ErrBadValue
	})
	if !errors.Is(err, ErrBadValue) || !next.Same(base) || p != nil {
		t.Fatalf("got %v %v %v", next, p, err)
	}
}

// TestUndoneChangesGiveBase lists recipes whose changes undo each other
// in ways the log does not merge; each must give base itself and no
// patches (Finish compares unless the changes are in disjoint places).
func TestUndoneChangesGiveBase(t *testing.T) {
	base := parse(t, `{"l":["a","b","c","x","x"],"m":{"k":1,"n":{"z":2}}}`)
	for name, recipe := range map[string]func(d *Draft) error{
		"remove then insert the same item one further": func(d *Draft) error {
			if err := d.List("l").Delete(3); err != nil {
				return err
			}
			return d.List("l").Insert(4, String("x"))
		},
		"move between equal items": func(d *Draft) error { return d.List("l").Move(3, 4) },
		"write below, then the parent set back": func(d *Draft) error {
			if err := d.Map("m").Map("n").Set("z", Int(3)); err != nil {
				return err
			}
			return d.Map("m").Set("n", MapOf(map[string]Value{"z": Int(2)}))
		},
		"insert then remove in another epoch": func(d *Draft) error {
			if err := d.List("l").Insert(0, Int(0)); err != nil {
				return err
			}
			if err := d.Map("m").Set("k", Int(5)); err != nil {
				return err
			}
			if err := d.List("l").Delete(0); err != nil {
				return err
			}
			return d.Map("m").Set("k", Int(1))
		},
	} {
		next, p, inv, err := Produce(base, recipe)
		if err != nil || !next.Same(base) || p != nil || inv != nil {
			t.Errorf("%s: got %v, %v, %v, %v; want base and no patches", name, next, p, inv, err)
		}
	}
}
