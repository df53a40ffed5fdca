package draft

import (
	"strconv"
	"testing"
)

// A recipe may change or reuse a Path after passing it to Set, Insert,
// Delete or Increment: the patches keep copies, so they still say what
// happened and applying them to the base gives the produced state. (Until
// the sixth sitting the log kept the caller's path: reusing it rewrote
// earlier patches, and two buffered adds to different keys could even
// merge into one.)
func TestCallerPathReuse(t *testing.T) {
	base, err := ParseJSON([]byte(`{"l":[1,2,3],"m":{},"n":{"x":1,"y":2},"c":5}`))
	if err != nil {
		t.Fatal(err)
	}
	recipe := func(d *Draft) error {
		p := Path{Key("l"), Index(0)}
		if err := d.Insert(p, Int(9)); err != nil {
			return err
		}
		p[1] = Index(2)
		if err := d.Insert(p, Int(8)); err != nil {
			return err
		}
		p[1] = Index(4)
		q := Path{Key("m"), Key("a")}
		if err := d.Set(q, Int(1)); err != nil { // starts a run of buffered adds
			return err
		}
		q[1] = Key("b")
		if err := d.Set(q, Int(2)); err != nil {
			return err
		}
		q[0], q[1] = Key("n"), Key("x")
		if err := d.Delete(q); err != nil {
			return err
		}
		q[1] = Key("y")
		c := Path{Key("c")}
		if err := d.Increment(c, Int(2)); err != nil {
			return err
		}
		c[0] = Key("zz")
		return nil
	}
	want := `[add /l/0 9] [add /l/2 8] [add /m/a 1] [add /m/b 2] [remove /n/x] [replace /c 7]`
	var o, oa Owner
	for name, produce := range map[string]func() (Value, []Patch, error){
		"plain": func() (Value, []Patch, error) { return ProduceForward(base, recipe) },
		"owned": func() (Value, []Patch, error) { return ProduceForwardOwned(base, &o, recipe) },
		"owned append": func() (Value, []Patch, error) {
			return ProduceForwardOwnedAppend(nil, base, &oa, recipe)
		},
	} {
		next, patches, err := produce()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := ""
		for i, p := range patches {
			if i > 0 {
				got += " "
			}
			got += "[" + string(p.Op) + " " + p.Path.String()
			if p.Value.IsValid() {
				js, _ := p.Value.MarshalJSON()
				got += " " + string(js)
			}
			got += "]"
		}
		if got != want {
			t.Errorf("%s: patches\n%s\nwant\n%s", name, got, want)
		}
		applied, err := Apply(base, patches)
		if err != nil {
			t.Fatalf("%s: applying the patches: %v", name, err)
		}
		if !applied.Equal(next) {
			t.Errorf("%s: patches applied to the base give %v, the produce %v", name, applied, next)
		}
	}
}

// An into produce (ProduceForwardOwnedAppend) carves its patch paths from
// room that the next one carves again; a plain owned produce's paths are
// never rewritten (TestOwnedPatchPathsKept), also when into produces run
// between them.
func TestIntoPathsLeaveOthersAlone(t *testing.T) {
	var o Owner
	s := EmptyMap()
	var kept []Path
	var want []string
	var buf []Patch
	for i := range 200 {
		k := Path{Key("k" + strconv.Itoa(i%13))}
		var err error
		if i%2 == 0 {
			var patches []Patch
			s, patches, err = ProduceForwardOwned(s, &o, func(d *Draft) error { return d.Set(k, Int(int64(i))) })
			for _, p := range patches {
				kept, want = append(kept, p.Path), append(want, p.Path.String())
			}
		} else {
			s, buf, err = ProduceForwardOwnedAppend(buf[:0], s, &o, func(d *Draft) error { return d.Set(k, Int(int64(i))) })
			if len(buf) != 1 || buf[0].Path.String() != "/"+k[0].Token() {
				t.Fatalf("produce %d: into patches %v", i, buf)
			}
		}
		if err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
		for j, p := range kept {
			if p.String() != want[j] {
				t.Fatalf("after produce %d, kept patch path %d changed: was %s, now %s", i, j, want[j], p)
			}
		}
	}
}

// A path built for one call stays on the caller's stack: the draft keeps
// no reference to it. An into produce of one insert then allocates
// nothing of its own but its share of the owner's slabs.
func TestCallerPathNotKept(t *testing.T) {
	var o Owner
	s, _, err := ProduceForwardOwned(EmptyMap(), &o, func(d *Draft) error { return d.Set(Path{Key("l")}, EmptyList()) })
	if err != nil {
		t.Fatal(err)
	}
	var buf []Patch
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		i++
		p := Path{Key("l"), Index(0)}
		s, buf, err = ProduceForwardOwnedAppend(buf[:0], s, &o, func(d *Draft) error { return d.Insert(p, Int(int64(i))) })
		if err != nil {
			t.Fatal(err)
		}
	})
	// The owner's slabs (drafts, epochs) and the list's leaves come to
	// well under one allocation per produce; the caller's path was one
	// more.
	if allocs >= 0.5 {
		t.Errorf("an into produce of one insert made %.2f allocations, want under 0.5", allocs)
	}
}

// The first path an into produce carves may be a patch path of the
// previous one, which lies where it is carved: it is copied onto itself.
func TestLogPathInPlace(t *testing.T) {
	var o Owner
	s, buf, err := ProduceForwardOwnedAppend(nil, EmptyMap(), &o, func(d *Draft) error {
		return d.Set(Path{Key("a")}, EmptyMap())
	})
	if err != nil {
		t.Fatal(err)
	}
	s, buf, err = ProduceForwardOwnedAppend(buf[:0], s, &o, func(d *Draft) error {
		return d.Set(Path{Key("a"), Key("k")}, Int(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		stale := buf[0].Path // "/a/k", in the room the next produce carves from the start
		s, buf, err = ProduceForwardOwnedAppend(buf[:0], s, &o, func(d *Draft) error {
			return d.Set(stale, Int(int64(i+2)))
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(buf) != 1 || buf[0].Path.String() != "/a/k" || !buf[0].Value.Equal(Int(int64(i+2))) {
			t.Fatalf("produce %d: patches %v", i, buf)
		}
	}
}
