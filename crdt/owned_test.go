package crdt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// The Doc changes its state in place (draft's owned mode) between the
// moments it hands it out. These tests hold every Value the Doc handed out
// (State, the patches of Produce and of Apply results) with its JSON at
// the time, drive the Doc through many more local and remote changes,
// failing and panicking recipes and refused patch lists, and check that
// none of those Values changed, that a failed change left the state
// exactly as it was, and that the state always equals a render of the
// registers. OWNED_N raises the count; the seed is printed.

type heldValue struct {
	what string
	v    draft.Value
	json string
}

func ownedIterations(def int) int {
	if s := os.Getenv("OWNED_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return def
}

var errGiveUp = errors.New("recipe gives up")

func TestOwnedStateNeverChanges(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0xd0c))
	st := NewStrategies().MustSet("/n/*", Count())
	a := newReplica(t, 1, st)
	b := newReplica(t, 2, st)
	var held []heldValue
	hold := func(what string, v draft.Value) {
		if v.IsValid() {
			held = append(held, heldValue{what, v, v.String()})
		}
	}
	holdPatches := func(what string, ps []draft.Patch) {
		for i, p := range ps {
			hold(fmt.Sprintf("%s patch %d", what, i), p.Value)
		}
	}
	key := func() string { return "k" + strconv.Itoa(r.IntN(12)) }
	// recipe returns a random recipe for doc x: nested map writes, list
	// inserts and removes, counter increments, deletes.
	recipe := func(x *Doc) func(d *draft.Draft) error {
		ops := 1 + r.IntN(4)
		kind := make([]int, ops)
		keys := make([]string, ops)
		nums := make([]int, ops)
		for i := range ops {
			kind[i], keys[i], nums[i] = r.IntN(7), key(), r.IntN(1000)
		}
		return func(d *draft.Draft) error {
			for i := range ops {
				var err error
				switch kind[i] {
				case 0, 1:
					err = d.Set(draft.Path{draft.Key("m"), draft.Key(keys[i])}, draft.Int(int64(nums[i])))
				case 2:
					err = d.Map("m").Delete(keys[i])
				case 3:
					l := d.List("l")
					err = l.Insert(nums[i]%(l.Len()+1), draft.Int(int64(nums[i])))
				case 4:
					if l := d.List("l"); l.Len() > 0 {
						err = l.Delete(nums[i] % l.Len())
					}
				case 5:
					p := draft.Path{draft.Key("n"), draft.Key(keys[i])}
					if _, gerr := d.Get(p); gerr != nil {
						err = d.Set(p, draft.Int(0))
					} else {
						err = d.Increment(p, draft.Int(1))
					}
				case 6:
					err = d.Set(draft.Path{draft.Key("m"), draft.Key(keys[i])}, obj("x", draft.Int(int64(nums[i]))))
				}
				if err != nil && !errors.Is(err, draft.ErrNotFound) {
					return err
				}
			}
			return nil
		}
	}
	var fromA, fromB []*Change
	for _, x := range []*replica{a, b} {
		c := x.update(t, func(d *draft.Draft) error {
			for _, k := range []string{"m", "n"} {
				if err := d.Set(draft.Path{draft.Key(k)}, draft.EmptyMap()); err != nil {
					return err
				}
			}
			return d.Set(draft.Path{draft.Key("l")}, draft.EmptyList())
		})
		if x == a {
			fromA = append(fromA, c)
		} else {
			fromB = append(fromB, c)
		}
	}
	steps := ownedIterations(600)
	for step := range steps {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d step %d: %s", seed, step, fmt.Sprintf(format, args...))
		}
		before := a.current().String()
		switch c := r.IntN(20); {
		case c < 11:
			a.phys.Advance(1)
			ch, ps, err := a.Produce(recipe(a.Doc))
			if err != nil {
				fail("produce: %v", err)
			}
			holdPatches("produce", ps)
			if ch != nil {
				fromA = append(fromA, ch)
			}
		case c < 13: // b writes; a gets b's changes in a batch
			ch := b.update(t, recipe(b.Doc))
			if ch != nil {
				fromB = append(fromB, ch)
			}
			if r.IntN(2) == 0 {
				res, err := a.Apply(fromB...)
				if err != nil {
					fail("apply: %v", err)
				}
				holdPatches("apply", res.Patches)
				fromB = fromB[:0]
			}
		case c < 15:
			hold("state", a.State())
		case c < 16: // a recipe that writes, then fails
			rc := recipe(a.Doc)
			_, err := a.Update(func(d *draft.Draft) error {
				if err := rc(d); err != nil {
					return err
				}
				return errGiveUp
			})
			if !errors.Is(err, errGiveUp) && err != nil {
				fail("failing recipe: %v", err)
			}
			if got := a.current().String(); got != before {
				fail("a failed recipe changed the state: %s, was %s", got, before)
			}
		case c < 17: // a recipe that writes, then panics
			rc := recipe(a.Doc)
			func() {
				defer func() { _ = recover() }()
				_, _ = a.Update(func(d *draft.Draft) error {
					_ = rc(d)
					panic("recipe panics")
				})
			}()
			if got := a.current().String(); got != before {
				fail("a panicking recipe changed the state: %s, was %s", got, before)
			}
		case c < 18: // writes that the Doc refuses after draft applied them
			k := key()
			_, err := a.UpdatePatches([]draft.Patch{
				{Op: draft.OpAdd, Path: draft.Path{draft.Key("m"), draft.Key(k)}, Value: draft.Int(-5)},
				{Op: draft.OpReplace, Path: draft.Path{}, Value: obj("m", draft.EmptyMap())},
			})
			if err == nil {
				fail("a patch at the root was accepted")
			}
			if got := a.current().String(); got != before {
				fail("a refused patch list changed the state: %s, was %s", got, before)
			}
		case c < 19: // State read inside a recipe is the state before it
			rc := recipe(a.Doc)
			a.phys.Advance(1)
			ch, err := a.Update(func(d *draft.Draft) error {
				if err := rc(d); err != nil {
					return err
				}
				s := a.State()
				if s.String() != before {
					return fmt.Errorf("State in a recipe: %s, was %s", s.String(), before)
				}
				hold("state in a recipe", s)
				return rc(d)
			})
			if err != nil {
				fail("%v", err)
			}
			if ch != nil {
				fromA = append(fromA, ch)
			}
		default:
			b.apply(t, fromA...)
			fromA = fromA[:0]
		}
		if want := a.renderNode(a.root, visMap, false); !want.Equal(a.current()) {
			fail("state %s, registers render %s", a.current().String(), want.String())
		}
		if step%16 == 0 || step == steps-1 {
			for _, h := range held {
				if got := h.v.String(); got != h.json {
					fail("%s changed after the Doc handed it out: was %s, now %s", h.what, h.json, got)
				}
			}
		}
	}
	b.apply(t, fromA...)
	a.apply(t, fromB...)
	if a.json(t) != b.json(t) {
		t.Fatalf("seed %d: replicas differ: %s / %s", seed, a.json(t), b.json(t))
	}
}

// TestOwnedReentry: inside an Update recipe the Doc may be read (State is
// the state before the recipe) but not changed.
func TestOwnedReentry(t *testing.T) {
	a := newReplica(t, 1, nil)
	b := newReplica(t, 2, nil)
	a.update(t, set("/x", draft.Int(1)))
	cb := b.update(t, set("/y", draft.Int(2)))
	c := a.update(t, func(d *draft.Draft) error {
		if err := d.Set(draft.Path{draft.Key("x")}, draft.Int(3)); err != nil {
			return err
		}
		if got := a.State().String(); got != `{"x":1}` {
			t.Errorf("State in a recipe: %s", got)
		}
		if _, err := a.Update(set("/z", draft.Int(4))); !errors.Is(err, draft.ErrOwnerBusy) {
			t.Errorf("nested Update: %v", err)
		}
		if _, err := a.UpdatePatches([]draft.Patch{{Op: draft.OpAdd, Path: draft.Path{draft.Key("z")}, Value: draft.Int(4)}}); !errors.Is(err, draft.ErrOwnerBusy) {
			t.Errorf("nested UpdatePatches: %v", err)
		}
		if _, err := a.Apply(cb); !errors.Is(err, draft.ErrOwnerBusy) {
			t.Errorf("nested Apply: %v", err)
		}
		return nil
	})
	if c == nil || a.json(t) != `{"x":3}` {
		t.Fatalf("after the recipe: %v %s", c, a.json(t))
	}
	a.apply(t, cb)
	if a.json(t) != `{"x":3,"y":2}` {
		t.Fatalf("after the remote change: %s", a.json(t))
	}
}
