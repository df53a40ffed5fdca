package crdt_test

import (
	"errors"
	"fmt"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// Two replicas hold the same three changes, so both version vectors cover
// them: the frontier is causally stable and the log below it can go. A
// reader that is behind the floor is told to take a snapshot instead.
func ExampleDoc_Compact() {
	a := newDoc(1, 1_700_000_000_000, nil)
	b := newDoc(2, 1_700_000_000_000, nil)
	for i := range 3 {
		if _, err := b.Apply(setAt(a, "/n", draft.Int(int64(i)))); err != nil {
			panic(err)
		}
	}
	frontier := b.Version() // the minimum of both vectors: b has everything a has
	st := a.Compact(frontier)
	fmt.Println("dropped", st.DroppedChanges, "left", st.LogChanges, "floor", a.Floor()[1])

	_, err := a.ChangesSinceErr(crdt.VersionVector{}, 0)
	var ce *crdt.CompactedError
	fmt.Println(errors.Is(err, crdt.ErrCompacted), errors.As(err, &ce) && ce.Floor == 3)

	c := newDoc(3, 1_700_000_000_000, nil)
	if _, err := c.MergeSnapshot(a.Snapshot()); err != nil {
		panic(err)
	}
	fmt.Println(show(c))
	// Output:
	// dropped 3 left 0 floor 3
	// true true
	// {"n":2}
}
