package crdt_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// newDoc makes a replica with a manual clock at the given millisecond.
func newDoc(id clock.ReplicaID, ms int64, st *crdt.Strategies) *crdt.Doc {
	clk, err := clock.New(clock.Config{Replica: id, Physical: clock.NewManual(ms), MaxDrift: time.Minute})
	if err != nil {
		panic(err)
	}
	cfg := crdt.DefaultConfig(id, clk)
	cfg.Strategies = st
	d, err := crdt.New(cfg)
	if err != nil {
		panic(err)
	}
	return d
}

func show(d *crdt.Doc) string {
	b, _ := d.State().MarshalJSON()
	return string(b)
}

// setAt writes v at a JSON pointer.
func setAt(d *crdt.Doc, ptr string, v draft.Value) *crdt.Change {
	c, err := d.Update(func(x *draft.Draft) error { return x.Set(draft.MustParsePointer(ptr), v) })
	if err != nil {
		panic(err)
	}
	return c
}

// exchange gives each replica the other's changes.
func exchange(a, b *crdt.Doc) {
	ca, cb := a.ChangesSince(b.Version(), 0), b.ChangesSince(a.Version(), 0)
	if _, err := a.Apply(cb...); err != nil {
		panic(err)
	}
	if _, err := b.Apply(ca...); err != nil {
		panic(err)
	}
}

// Two replicas write one key concurrently: the later timestamp wins and the
// other value stays visible in Conflicts until someone writes again.
func Example_lastWriterWins() {
	a := newDoc(1, 1000, nil)
	b := newDoc(2, 1005, nil) // b's clock is 5 ms ahead: its write is later
	setAt(a, "/color", draft.String("red"))
	setAt(b, "/color", draft.String("blue"))
	exchange(a, b)
	fmt.Println(show(a), show(b))
	for _, c := range a.Conflicts(draft.P("color")) {
		v, _ := c.Value.MarshalJSON()
		fmt.Println(string(v), "from replica", uint64(c.Replica), "winner:", c.Winner)
	}
	// Output:
	// {"color":"blue"} {"color":"blue"}
	// "red" from replica 1 winner: false
	// "blue" from replica 2 winner: true
}

// MultiValue shows all concurrent values, oldest first; writing resolves.
func Example_multiValue() {
	st := crdt.NewStrategies().MustSet("/title", crdt.Multi())
	a, b := newDoc(1, 1000, st), newDoc(2, 1001, st)
	setAt(a, "/title", draft.String("Draft"))
	setAt(b, "/title", draft.String("Final"))
	exchange(a, b)
	fmt.Println(show(a))
	setAt(a, "/title", draft.String("Final v2"))
	exchange(a, b)
	fmt.Println(show(b))
	// Output:
	// {"title":["Draft","Final"]}
	// {"title":"Final v2"}
}

// Counter sums concurrent increments; a plain replace becomes an increment.
func Example_counter() {
	st := crdt.NewStrategies().MustSet("/stock/*", crdt.Count())
	a, b := newDoc(1, 1000, st), newDoc(2, 1000, st)
	setAt(a, "/stock", draft.MapOf(map[string]draft.Value{"apples": draft.Int(10)}))
	exchange(a, b)
	_, _ = a.Update(func(d *draft.Draft) error { return d.Increment(draft.P("stock", "apples"), draft.Int(5)) })
	setAt(b, "/stock/apples", draft.Int(7)) // b sells 3: an increment of -3
	exchange(a, b)
	fmt.Println(show(a), show(b))
	// Output:
	// {"stock":{"apples":12}} {"stock":{"apples":12}}
}

// Max and Min keep the greatest or smallest of the concurrent numbers.
func Example_maxMin() {
	st := crdt.NewStrategies().MustSet("/high", crdt.Maximum()).MustSet("/low", crdt.Minimum())
	a, b := newDoc(1, 1000, st), newDoc(2, 1001, st)
	setAt(a, "/high", draft.Int(90))
	setAt(a, "/low", draft.Int(10))
	setAt(b, "/high", draft.Int(70))
	setAt(b, "/low", draft.Int(30))
	exchange(a, b)
	fmt.Println(show(a))
	// Output:
	// {"high":90,"low":10}
}

// Custom merges concurrent values with a user function, which must be
// deterministic, commutative, associative and idempotent: CheckMergeLaws
// looks for a counterexample.
func Example_custom() {
	longest := func(x, y draft.Value) draft.Value {
		xs, _ := x.AsString()
		ys, _ := y.AsString()
		if len(ys) > len(xs) || (len(ys) == len(xs) && ys > xs) {
			return y
		}
		return x
	}
	fmt.Println("laws:", crdt.CheckMergeLaws(longest, func(r *rand.Rand) draft.Value {
		return draft.String([]string{"a", "bb", "cc", "ddd"}[r.IntN(4)])
	}, 1000, 1))
	st := crdt.NewStrategies().MustSet("/name", crdt.CustomMerge("longest", longest))
	a, b := newDoc(1, 1000, st), newDoc(2, 1001, st)
	setAt(a, "/name", draft.String("Ada Lovelace"))
	setAt(b, "/name", draft.String("Ada"))
	exchange(a, b)
	fmt.Println(show(b))

	first := func(x, y draft.Value) draft.Value { return x }
	fmt.Println(crdt.CheckMergeLaws(first, nil, 1000, 1) != nil)
	// Output:
	// laws: <nil>
	// {"name":"Ada Lovelace"}
	// true
}

// A delete removes only what its author had seen: an edit made concurrently
// inside the deleted map keeps that path alive.
func Example_observedRemove() {
	a, b := newDoc(1, 1000, nil), newDoc(2, 1000, nil)
	setAt(a, "/user", draft.MapOf(map[string]draft.Value{"name": draft.String("ann")}))
	exchange(a, b)
	_, _ = a.Update(func(d *draft.Draft) error { return d.Delete(draft.P("user")) })
	setAt(b, "/user/email", draft.String("ann@example.com"))
	exchange(a, b)
	fmt.Println(show(a))
	// Output:
	// {"user":{"email":"ann@example.com"}}
}

// List edits address elements by identity: a replace made against index 1
// still hits "b" after a concurrent insert at the front.
func Example_list() {
	a, b := newDoc(1, 1000, nil), newDoc(2, 1000, nil)
	setAt(a, "/l", draft.ListOf(draft.String("a"), draft.String("b")))
	exchange(a, b)
	_, _ = a.Update(func(d *draft.Draft) error { return d.Insert(draft.P("l", 0), draft.String("new")) })
	setAt(b, "/l/1", draft.String("B"))
	exchange(a, b)
	fmt.Println(show(a), show(b))
	// Output:
	// {"l":["new","a","B"]} {"l":["new","a","B"]}
}
