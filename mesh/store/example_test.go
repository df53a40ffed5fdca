package store_test

import (
	"context"
	"fmt"

	"github.com/syncmesh/syncmesh/mesh/store"
)

func Example() {
	ctx := context.Background()
	s, err := store.Open(store.DefaultConfig("")) // in memory
	if err != nil {
		panic(err)
	}
	defer s.Close()
	// Two changes of replica 1 and one of replica 2, acknowledged together.
	err = store.Write(ctx, s, store.Batch{Changes: []store.Change{
		{Replica: 1, Start: 1, End: 2, Data: []byte("a")},
		{Replica: 1, Start: 3, End: 3, Data: []byte("b")},
		{Replica: 2, Start: 1, End: 1, Data: []byte("c")},
	}})
	if err != nil {
		panic(err)
	}
	// A peer that has replica 1 up to 2 asks for the rest.
	cs, more, _ := s.Changes(ctx, store.VersionVector{1: 2}, 1<<20)
	for _, c := range cs {
		fmt.Printf("%d %d..%d %s\n", c.Replica, c.Start, c.End, c.Data)
	}
	fmt.Println("more:", more)
	// Fold replica 1's first two operations into a snapshot.
	_ = s.Compact(ctx, store.Snapshot{Data: []byte("state"), Version: store.VersionVector{1: 3, 2: 1}, Floor: store.VersionVector{1: 2}})
	_, _, err = s.Changes(ctx, store.VersionVector{}, 1<<20)
	fmt.Println(err)
	// Output:
	// 1 3..3 b
	// 2 1..1 c
	// more: false
	// store: changes compacted away: replica 0000000000000001 is compacted up to 2, reader has 0
}
