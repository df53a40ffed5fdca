// Command syncmesh is the syncmesh command line: a gossip demo, a long-running
// node with an HTTP API, client commands and convergence simulations.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: syncmesh <command> [flags]

commands:
  demo    start a small mesh on loopback, make conflicting edits, watch it converge
`

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		fmt.Fprintln(stdout, "syncmesh demo: not built yet. It will start 5 nodes on loopback over memberlist,")
		fmt.Fprintln(stdout, "make concurrent conflicting edits, and print the converged state and how long it took.")
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "syncmesh: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
