package main

import (
	"context"
	"fmt"
)

// simMoved answers "syncmesh sim ...": the simulations are their own
// binary, cmd/syncmesh-sim, so that building this one (the README's
// "go run ./cmd/syncmesh demo") does not compile gonum/plot, its fonts and
// image codecs. See docs/simulations.md.
func simMoved(_ context.Context, e *env, _ []string) error {
	fmt.Fprintln(e.stderr, "syncmesh sim: the simulations are a separate command: go run ./cmd/syncmesh-sim run|campaign|compare ... (see docs/simulations.md)")
	return &usageError{msg: "moved to cmd/syncmesh-sim", printed: true}
}
