package draft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

// escaped is a Value that left an owner (a read in a recipe, a patch
// value, a frozen state) and its JSON when it left: it must never change.
type escaped struct {
	what string
	v    Value
	json string
}

func (e escaped) check() error {
	if got := e.v.String(); got != e.json {
		return fmt.Errorf("%s changed after it escaped: was %s, now %s", e.what, e.json, got)
	}
	return nil
}

var errRecipe = errors.New("recipe gives up")

// TestOwnedAgainstPlain runs chains of random recipes through owned
// produces and applies under one Owner, beside the same recipes through
// plain Produce: the states, patches and inverse patches must be the same;
// a failing or panicking recipe, a failing patch list and Revert must
// leave the owned state exactly as it was; and every value that escaped
// the owner (reads inside recipes, patch values, states published with
// Freeze) must keep its contents through all later owned operations.
// DRAFT_PROP_N raises the count.
func TestOwnedAgainstPlain(t *testing.T) {
	runOwned(t, max(propIterations(400)/8, 10), 40, 8)
	runOwned(t, max(propIterations(400)/40, 3), 10, 200)
}

func runOwned(t *testing.T, chains, steps, maxOps int) {
	seed := rand.Uint64()
	if s := os.Getenv("DRAFT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x0fed))
	g := gen{r: r}
	for ch := range chains {
		var o Owner
		base := MapOf(map[string]Value{"a": g.value(3), "b": g.value(3)})
		if ch%3 == 0 {
			wide := map[string]Value{}
			items := make([]Value, 40+r.IntN(60))
			for i := range items {
				items[i] = g.value(1)
				wide[fmt.Sprintf("w%03d", i)] = g.value(1)
			}
			base, _ = base.With("big", ListOf(items...))
			base, _ = base.With("wide", MapOf(wide))
		}
		owned, plain := base, base
		var esc []escaped
		junk := Patch{Op: OpMove, Path: Path{Key("x")}, From: Path{Key("y")}, Value: String("junk"), Delta: Int(3)}
		dirty := make([]Patch, 4)
		keep := func(what string, v Value) {
			if v.IsValid() {
				esc = append(esc, escaped{what, v, v.String()})
			}
		}
		for step := range steps {
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("seed %d chain %d step %d (base %s): %s", seed, ch, step, plain.String(), fmt.Sprintf(format, args...))
			}
			before := owned.String()
			if before != plain.String() {
				fail("owned %s != plain %s", before, plain.String())
			}
			// The plain side draws the ops (as TestProduceAgainstOracle
			// does) and the owned side replays them.
			st := plain.ToGo()
			var ops []propOp
			nops := 1 + r.IntN(maxOps)
			pnext, pfwd, pinv, perr := Produce(plain, func(d *Draft) error {
				for range nops {
					op := g.op(st)
					ops = append(ops, op)
					if want, ok := applyOracle(st, op); runDraftOp(d, op) == nil && ok {
						st = want
					}
				}
				return nil
			})
			if perr != nil {
				fail("plain produce: %v", perr)
			}
			mode := r.IntN(10)
			var onext Value
			var ofwd, oinv []Patch
			var oerr error
			switch {
			case mode < 5: // owned produce, with reads that escape
				reads := r.IntN(3) == 0
				recipe := func(d *Draft) error {
					for _, op := range ops {
						if op.kind == "copyread" {
							v, err := d.Get(op.from)
							keep("read "+op.from.String(), v)
							if err == nil {
								_ = d.Set(op.path, v)
							}
						} else {
							_ = runDraftOp(d, op)
						}
						if reads && r.IntN(4) == 0 {
							switch r.IntN(5) {
							case 4: // the owner publishes base mid-recipe
								o.Freeze()
								keep("base frozen in the recipe", owned)
							case 0:
								keep("current", d.Current())
							case 1:
								keep("original", d.Original())
							case 2:
								keep("map value", d.MapAt(Path{Key("a")}).Value())
							default:
								v, _ := d.Get(g.path(st))
								keep("get", v)
							}
						}
					}
					return nil
				}
				switch r.IntN(3) {
				case 0:
					onext, ofwd, oinv, oerr = ProduceOwned(owned, &o, recipe)
				case 1:
					onext, ofwd, oerr = ProduceForwardOwned(owned, &o, recipe)
					oinv = pinv
				default: // into a reused buffer whose room holds old patches
					keepFirst := r.IntN(2)
					for i := range dirty {
						dirty[i] = junk
					}
					var got []Patch
					onext, got, oerr = ProduceForwardOwnedAppend(dirty[:keepFirst], owned, &o, recipe)
					if len(got) < keepFirst || (keepFirst > 0 && jsonOf(got[:1]) != jsonOf([]Patch{junk})) {
						fail("append lost the patches before it: %s", jsonOf(got))
					}
					if cap(got) <= cap(dirty) {
						dirty = got[:cap(got)]
					}
					ofwd, oinv = got[keepFirst:], pinv
					if len(ofwd) == 0 {
						ofwd = nil
					}
				}
			case mode < 7: // the plain patches through ApplyOwned
				onext, oerr = ApplyOwned(owned, &o, pfwd)
				ofwd, oinv = pfwd, pinv
			default: // a recipe that fails, panics, or a patch list that fails
				var got Value
				var err error
				cut := r.IntN(len(ops) + 1)
				switch r.IntN(3) {
				case 0:
					got, _, _, err = ProduceOwned(owned, &o, func(d *Draft) error {
						for _, op := range ops[:cut] {
							_ = runDraftOp(d, op)
						}
						return errRecipe
					})
					if !errors.Is(err, errRecipe) {
						fail("failing recipe: %v", err)
					}
				case 1:
					func() {
						defer func() {
							if recover() == nil {
								fail("recipe did not panic")
							}
						}()
						got = Int(7) // not returned by the panicking produce
						_, _, _ = ProduceForwardOwned(owned, &o, func(d *Draft) error {
							for _, op := range ops[:cut] {
								_ = runDraftOp(d, op)
							}
							panic("recipe panics")
						})
					}()
					got = owned
				default:
					bad := append(append([]Patch(nil), pfwd...), Patch{Op: OpTest, Path: Path{}, Value: String("no")})
					got, err = ApplyOwned(owned, &o, bad)
					if err == nil {
						fail("failing patch list applied")
					}
				}
				if !got.Same(owned) || owned.String() != before {
					fail("a failed operation changed the state: %s, was %s", owned.String(), before)
				}
				continue
			}
			if oerr != nil {
				fail("owned: %v (ops %v)", oerr, ops)
			}
			if !onext.Equal(pnext) {
				fail("owned next %s != plain %s (ops %v)", onext.String(), pnext.String(), ops)
			}
			if jsonOf(ofwd) != jsonOf(pfwd) || jsonOf(oinv) != jsonOf(pinv) {
				fail("owned patches %s / %s != plain %s / %s (ops %v)", jsonOf(ofwd), jsonOf(oinv), jsonOf(pfwd), jsonOf(pinv), ops)
			}
			if len(pfwd) == 0 && !onext.Same(owned) {
				fail("no change but a new root")
			}
			for i, p := range ofwd {
				keep(fmt.Sprintf("patch %d", i), p.Value)
			}
			for i, p := range oinv {
				keep(fmt.Sprintf("inverse %d", i), p.Value)
			}
			if r.IntN(8) == 0 { // reject the result after the fact
				o.Revert()
				if owned.String() != before {
					fail("Revert: %s, was %s", owned.String(), before)
				}
				continue
			}
			owned, plain = onext, pnext
			if r.IntN(6) == 0 { // publish the state
				o.Freeze()
				keep("frozen state", owned)
			}
			for _, e := range esc {
				if err := e.check(); err != nil {
					fail("%v", err)
				}
			}
		}
	}
}

// TestOwnedInPlace checks that the owned mode does what it is for: after
// one copy, a write to the same leaf changes it in place (the root node
// stays the same), and Freeze makes the next write copy again.
func TestOwnedInPlace(t *testing.T) {
	var o Owner
	m := map[string]Value{}
	for i := range 100 {
		m[fmt.Sprintf("k%03d", i)] = Int(int64(i))
	}
	s := MapOf(m)
	set := func(k string, v int64) {
		t.Helper()
		next, _, err := ProduceForwardOwned(s, &o, func(d *Draft) error { return d.Root().Set(k, Int(v)) })
		if err != nil {
			t.Fatal(err)
		}
		s = next
	}
	set("k001", -1) // copies the path: the owner's from now on
	root := s.mroot()
	set("k002", -2)
	set("k099", -3)
	if s.mroot() != root {
		t.Fatal("an owned write copied the owner's root")
	}
	o.Freeze()
	frozen, frozenJSON := s, s.String()
	set("k003", -4)
	if s.mroot() == root {
		t.Fatal("a write after Freeze changed the frozen root in place")
	}
	if frozen.String() != frozenJSON {
		t.Fatal("frozen state changed")
	}
	if v, _ := s.Get("k003"); !v.Equal(Int(-4)) {
		t.Fatalf("k003 = %v", v)
	}
}

// TestOwnedErrors covers nesting, Finish on an owned draft, and identity
// when nothing changes.
func TestOwnedErrors(t *testing.T) {
	var o Owner
	s := MapOf(map[string]Value{"a": Int(1)})
	s, _, _ = ProduceForwardOwned(s, &o, func(d *Draft) error { return d.Root().Set("a", Int(2)) })
	s, _, err := ProduceForwardOwned(s, &o, func(d *Draft) error {
		_, _, err := ProduceForwardOwned(s, &o, func(*Draft) error { return nil })
		if !errors.Is(err, ErrOwnerBusy) {
			t.Errorf("nested produce: %v", err)
		}
		if _, err := ApplyOwned(s, &o, nil); !errors.Is(err, ErrOwnerBusy) {
			t.Errorf("nested apply: %v", err)
		}
		if _, _, _, err := d.Finish(); !errors.Is(err, ErrOwnerBusy) {
			t.Errorf("finish: %v", err)
		}
		return d.Root().Set("a", Int(3))
	})
	if err != nil {
		t.Fatal(err)
	}
	next, patches, err := ProduceForwardOwned(s, &o, func(d *Draft) error {
		if err := d.Root().Set("a", Int(9)); err != nil {
			return err
		}
		return d.Root().Set("a", Int(3))
	})
	if err != nil || len(patches) != 0 || !next.Same(s) {
		t.Fatalf("set back: %v %v %v", err, patches, next)
	}
	if v, _ := s.Get("a"); !v.Equal(Int(3)) {
		t.Fatalf("a = %v", v)
	}
}

// TestOwnedFrozenRace shares frozen states with reader goroutines while
// the owner keeps writing: under -race, a write to a node a frozen state
// reaches is reported.
func TestOwnedFrozenRace(t *testing.T) {
	var o Owner
	s := EmptyMap()
	l := EmptyList()
	s, _ = s.With("l", l)
	var wg sync.WaitGroup
	for round := range 8 {
		for i := range 50 {
			k := fmt.Sprintf("k%02d", (round*7+i)%40)
			next, _, err := ProduceForwardOwned(s, &o, func(d *Draft) error {
				if err := d.Root().Set(k, Int(int64(i))); err != nil {
					return err
				}
				return d.List("l").Insert(i%(d.List("l").Len()+1), Int(int64(i)))
			})
			if err != nil {
				t.Fatal(err)
			}
			s = next
		}
		o.Freeze()
		shared, want := s, s.String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if got := shared.String(); got != want {
					t.Errorf("shared state changed")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestApplyOwnedCopy: a copy puts one subtree in two places, after which
// nothing under either may change in place (a later write at one place
// must not show at the other), and a later failing patch still restores
// the state.
func TestApplyOwnedCopy(t *testing.T) {
	var o Owner
	mk := func() Value {
		v, err := FromGo(map[string]any{"a": map[string]any{"x": 1, "y": []any{1, 2}}, "n": 0})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := mk()
	for i := range 3 { // make the state the owner's
		var err error
		if s, err = ApplyOwned(s, &o, []Patch{{Op: OpReplace, Path: Path{Key("n")}, Value: Int(int64(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	copyThenWrite := []Patch{
		{Op: OpReplace, Path: Path{Key("a"), Key("x")}, Value: Int(5)},
		{Op: OpCopy, From: Path{Key("a")}, Path: Path{Key("b")}},
		{Op: OpReplace, Path: Path{Key("b"), Key("x")}, Value: Int(6)},
		{Op: OpAdd, Path: Path{Key("b"), Key("y"), Index(0)}, Value: Int(0)},
	}
	before := s.String()
	bad := append(append([]Patch(nil), copyThenWrite...), Patch{Op: OpTest, Path: Path{Key("n")}, Value: Int(99)})
	if got, err := ApplyOwned(s, &o, bad); err == nil || !got.Same(s) || s.String() != before {
		t.Fatalf("failing copy list: %v, state %s, was %s", err, s.String(), before)
	}
	next, err := ApplyOwned(s, &o, copyThenWrite)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Apply(mk(), []Patch{{Op: OpReplace, Path: Path{Key("n")}, Value: Int(2)}})
	want, _ = Apply(want, copyThenWrite)
	if !next.Equal(want) {
		t.Fatalf("owned %s, plain %s", next.String(), want.String())
	}
	if a, _ := next.At(Path{Key("a"), Key("x")}); !a.Equal(Int(5)) {
		t.Fatalf("write under the copy changed the source: %s", next.String())
	}
	// More owned writes on both places stay independent.
	next, err = ApplyOwned(next, &o, []Patch{{Op: OpReplace, Path: Path{Key("a"), Key("y"), Index(1)}, Value: Int(7)}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := next.At(Path{Key("b"), Key("y")}); b.String() != "[0,1,2]" {
		t.Fatalf("write under the source changed the copy: %s", next.String())
	}
}

// TestOwnedPatchPathsKept checks that the paths of patches an owner's
// produce handed out stay as they were through later produces, which
// carve their paths from the same room (see session.path), including a
// produce that passes an earlier patch's path back in.
func TestOwnedPatchPathsKept(t *testing.T) {
	var o Owner
	s := EmptyMap()
	type kept struct {
		p    Path
		want string
	}
	var all []kept
	for i := range 300 {
		next, patches, err := ProduceForwardOwned(s, &o, func(d *Draft) error {
			switch {
			case i < 7:
				return d.Set(Path{Key("k" + strconv.Itoa(i))}, EmptyMap())
			case i%3 == 2: // under an earlier patch's path
				return d.MapAt(all[len(all)-1].p).Set("x", Int(int64(i)))
			case i%3 == 1: // an earlier patch's path, at once
				return d.Set(all[len(all)-1].p, EmptyMap())
			}
			return d.Map("k"+strconv.Itoa(i%7)).Set("v"+strconv.Itoa(i), Int(int64(i)))
		})
		if err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
		s = next
		for _, p := range patches {
			all = append(all, kept{p.Path, p.Path.String()})
		}
		for j, k := range all {
			if got := k.p.String(); got != k.want {
				t.Fatalf("after produce %d, patch path %d changed: was %s, now %s", i, j, k.want, got)
			}
		}
	}
}
