// Command syncmesh is the syncmesh command line: a gossip demo, a long-running
// node with an HTTP API and dashboard, and client commands for that API.
// The convergence simulations are a separate command, cmd/syncmesh-sim, so
// that building this one stays quick.
//
// main.go is wiring only: it sets up signal handling and the process's
// streams, then hands over to run, which dispatches to one command. Every
// command parses its flags into a Config of a package under internal/ and
// calls that package; the logic lives there, where tests reach it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is main without the process: it runs one command and returns the
// exit code (0 success, 1 failure, 2 bad usage).
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		e.usage()
		return exitUsage
	}
	name, rest := args[0], args[1:]
	var err error
	switch name {
	case "demo":
		err = demoCmd(ctx, e, rest)
	case "node":
		err = nodeCmd(ctx, e, rest)
	case "get", "set", "delete", "patch", "watch", "members", "status", "conflicts":
		err = clientCmd(ctx, e, name, rest)
	case "sim":
		err = simMoved(ctx, e, rest)
	case "help", "-h", "-help", "--help":
		return helpCmd(ctx, e, rest)
	default:
		e.errorf("unknown command %q (run 'syncmesh help' for the list)", name)
		return exitUsage
	}
	return e.exit(name, err)
}
