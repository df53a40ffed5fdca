package strategy_test

import (
	"fmt"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/strategy"
	"github.com/syncmesh/syncmesh/draft"
)

func ExampleOf() {
	st, err := strategy.Parse([]byte("/counters/*: counter\n/counters/best: max\n"))
	if err != nil {
		panic(err)
	}
	state := draft.EmptyMap()
	for _, p := range []string{"/counters/visits", "/counters/best", "/title"} {
		kind, pattern := strategy.Of(st, state, draft.MustParsePointer(p))
		fmt.Printf("%s: %s %q\n", p, kind, pattern)
	}
	// Output:
	// /counters/visits: counter "/counters/*"
	// /counters/best: max "/counters/best"
	// /title: lww ""
}
