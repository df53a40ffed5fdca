package draft_test

import (
	"encoding/json"
	"fmt"

	"github.com/syncmesh/syncmesh/draft"
)

func printJSON(label string, x any) {
	b, err := json.Marshal(x)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s\n", label, b)
}

// Immer's counter example: produce(state, draft => { draft.count += 1 }).
func Example_counter() {
	state := draft.MapOf(map[string]draft.Value{"count": draft.Int(0)})
	next, patches, inverse, err := draft.Produce(state, func(d *draft.Draft) error {
		return d.Root().Increment("count", draft.Int(1))
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("state:", state)
	fmt.Println("next: ", next)
	printJSON("patches:", patches)
	printJSON("inverse:", inverse)
	// Output:
	// state: {"count":0}
	// next:  {"count":1}
	// patches: [{"op":"replace","path":"/count","value":1,"delta":1}]
	// inverse: [{"op":"replace","path":"/count","value":0,"delta":-1}]
}

// List changes come out as intent (what a CRDT needs), and ImmerPatches
// gives the cascade Immer would have produced for the same change.
func Example_listIntent() {
	state, _ := draft.ParseJSON([]byte(`{"todos":["a","b","c","d"]}`))
	next, patches, _, err := draft.Produce(state, func(d *draft.Draft) error {
		todos := d.List("todos")
		if err := todos.Insert(0, draft.String("x")); err != nil { // x a b c d
			return err
		}
		if err := todos.RemoveRange(2, 2); err != nil { // x a d
			return err
		}
		return todos.Move(2, 0) // d x a
	})
	if err != nil {
		panic(err)
	}
	immer, _, _ := draft.ImmerPatches(state, patches)
	fmt.Println("next:", next)
	for _, p := range patches {
		printJSON("intent", p)
	}
	for _, p := range immer {
		printJSON("immer ", p)
	}
	// Output:
	// next: {"todos":["d","x","a"]}
	// intent {"op":"add","path":"/todos/0","value":"x"}
	// intent {"op":"remove","path":"/todos/2"}
	// intent {"op":"remove","path":"/todos/2"}
	// intent {"op":"move","path":"/todos/0","from":"/todos/2"}
	// immer  {"op":"replace","path":"/todos/0","value":"d"}
	// immer  {"op":"replace","path":"/todos/1","value":"x"}
	// immer  {"op":"replace","path":"/todos/2","value":"a"}
	// immer  {"op":"remove","path":"/todos/3"}
}

// Typed sub-drafts read like the code they replace; untouched subtrees are
// shared with the base.
func ExampleProduce() {
	state, _ := draft.ParseJSON([]byte(`{"users":{"u1":{"age":30,"tags":[]},"u2":{"age":40,"tags":[]}}}`))
	next, patches, inverse, err := draft.Produce(state, func(d *draft.Draft) error {
		u1 := d.Map("users").Map("u1")
		if err := u1.Set("age", draft.Int(31)); err != nil {
			return err
		}
		return u1.List("tags").Append(draft.String("admin"))
	})
	if err != nil {
		panic(err)
	}
	printJSON("patches:", patches)
	printJSON("inverse:", inverse)
	before, _ := state.At(draft.P("users", "u2"))
	after, _ := next.At(draft.P("users", "u2"))
	fmt.Println("u2 shared:", before.Same(after))
	back, _ := draft.Apply(next, inverse)
	fmt.Println("inverse restores base:", back.Equal(state))
	// Output:
	// patches: [{"op":"replace","path":"/users/u1/age","value":31},{"op":"add","path":"/users/u1/tags/0","value":"admin"}]
	// inverse: [{"op":"remove","path":"/users/u1/tags/0"},{"op":"replace","path":"/users/u1/age","value":30}]
	// u2 shared: true
	// inverse restores base: true
}

// Apply takes any RFC 6902 document; a failed test fails the whole list.
func ExampleApply() {
	doc, _ := draft.ParseJSON([]byte(`{"a":[1,2]}`))
	var patches []draft.Patch
	_ = json.Unmarshal([]byte(`[
		{"op":"test","path":"/a/0","value":1},
		{"op":"add","path":"/a/-","value":3},
		{"op":"copy","from":"/a","path":"/b"}
	]`), &patches)
	out, err := draft.Apply(doc, patches)
	fmt.Println(out, err)
	_, err = draft.Apply(doc, []draft.Patch{{Op: draft.OpRemove, Path: draft.P("zz")}})
	fmt.Println(err)
	// Output:
	// {"a":[1,2,3],"b":[1,2,3]} <nil>
	// draft: patch 0 (remove "/zz"): path not found
}

func ExampleParsePointer() {
	p, err := draft.ParsePointer("/users/a~1b/0")
	fmt.Println(len(p), p[1].Token(), p[2].IsIndex(), p.String(), err)
	_, err = draft.ParsePointer("users")
	fmt.Println(err)
	// Output:
	// 3 a/b true /users/a~1b/0 <nil>
	// draft: malformed JSON pointer "users": must be empty or start with '/'
}

func ExampleNewDraft() {
	d := draft.NewDraft(draft.EmptyMap())
	_ = d.Root().Set("a", draft.Int(1))
	fmt.Println(d.IsModified(), d.Current())
	next, patches, _, _ := d.Finish()
	fmt.Println(next, len(patches))
	fmt.Println(d.Root().Set("b", draft.Int(2)))
	// Output:
	// true {"a":1}
	// {"a":1} 1
	// draft: draft already finished
}

// ProduceForward is Produce for callers that never undo (a CRDT turning
// patches into operations): the same next state and patches, no inverse.
func ExampleProduceForward() {
	state, _ := draft.ParseJSON([]byte(`{"count":5}`))
	next, patches, err := draft.ProduceForward(state, func(d *draft.Draft) error {
		return d.Root().Increment("count", draft.Int(1))
	})
	fmt.Println(next, err)
	printJSON("patches:", patches)
	// Output:
	// {"count":6} <nil>
	// patches: [{"op":"replace","path":"/count","value":6,"delta":1}]
}

// The owned mode: a state with one owner (here a loop that keeps only the
// latest version) is changed in place after its first copy; Freeze ends
// that before the state is handed out, and a failing recipe changes
// nothing.
func ExampleProduceForwardOwned() {
	var owner draft.Owner
	state := draft.MapOf(map[string]draft.Value{"count": draft.Int(0)})
	for range 3 {
		next, _, err := draft.ProduceForwardOwned(state, &owner, func(d *draft.Draft) error {
			return d.Root().Increment("count", draft.Int(1))
		})
		if err != nil {
			panic(err)
		}
		state = next // the old state is not used again
	}
	owner.Freeze() // publish: from now on state never changes
	published := state

	_, _, err := draft.ProduceForwardOwned(state, &owner, func(d *draft.Draft) error {
		if err := d.Root().Increment("count", draft.Int(10)); err != nil {
			return err
		}
		return fmt.Errorf("changed my mind")
	})
	fmt.Println("error:", err)
	fmt.Println("state:", state)

	next, patches, _ := draft.ProduceForwardOwned(state, &owner, func(d *draft.Draft) error {
		return d.Root().Set("count", draft.Int(100))
	})
	fmt.Println("next:", next)
	printJSON("patches:", patches)
	fmt.Println("published:", published)
	// Output:
	// error: changed my mind
	// state: {"count":3}
	// next: {"count":100}
	// patches: [{"op":"replace","path":"/count","value":100}]
	// published: {"count":3}
}
