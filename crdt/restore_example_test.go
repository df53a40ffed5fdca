package crdt_test

import (
	"fmt"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// A restart: the replica's snapshot, its later changes and its clock's
// bound were persisted; at start the clock resumes from the bound, a new
// document is restored from the snapshot and the logged changes are
// applied.
func ExampleRestore() {
	before := newDoc(1, 1_700_000_000_000, nil)
	setAt(before, "/todo", draft.ListOf(draft.String("milk"), draft.String("eggs")))
	saved := crdt.EncodeSnapshot(before.Snapshot())
	later := setAt(before, "/done", draft.Int(1)) // logged after the snapshot

	clk, err := clock.New(clock.Config{Replica: 1, Physical: clock.NewManual(1_700_000_000_000),
		MaxDrift: time.Minute, Resume: later.Timestamp})
	if err != nil {
		panic(err)
	}
	after, err := crdt.Restore(crdt.DefaultConfig(1, clk), saved)
	if err != nil {
		panic(err)
	}
	fmt.Println(show(after))
	if _, err := after.Apply(later); err != nil {
		panic(err)
	}
	fmt.Println(show(after), after.Version())
	// Output:
	// {"todo":["milk","eggs"]}
	// {"done":1,"todo":["milk","eggs"]} map[0000000000000001:4]
}
