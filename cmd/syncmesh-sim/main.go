// Command syncmesh-sim runs syncmesh's convergence simulations: one
// scenario on the deterministic simulator (run), random fault schedules
// (campaign), and the simulator against real memberlist nodes (compare).
// See docs/simulations.md.
//
// It is a separate binary from cmd/syncmesh because it draws charts with
// gonum/plot, whose fonts, image codecs and PDF/LaTeX backends would more
// than double the cold build of "go run ./cmd/syncmesh demo".
//
// main.go is wiring only: signal handling, the process's streams, and the
// exit code; the commands are in sim.go and the logic in package
// simulations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// env is the process's output streams, injected so tests run commands
// in-process.
type env struct {
	stdout, stderr io.Writer
}

// usageError is a command-line mistake (exit 2). printed says the flag
// package already printed the problem and the usage text.
type usageError struct {
	msg     string
	printed bool
}

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// run runs one subcommand and returns the exit code: 0 success, 1 failure
// (including a broken invariant), 2 bad usage.
func run(ctx context.Context, e *env, args []string) int {
	err := simCmd(ctx, e, args)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue) && ue.printed:
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "syncmesh-sim: %v\nRun 'syncmesh-sim --help' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "syncmesh-sim: %v\n", err)
		return 1
	}
}

// newFlags returns the FlagSet of one subcommand, whose usage text is the
// command line, then about, then the flags.
func newFlags(e *env, name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("syncmesh-sim "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: syncmesh-sim %s %s\n\n%s\n\nflags:\n", name, args, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; a flag error becomes a usage error the flag package
// has already printed.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return &usageError{msg: err.Error(), printed: true}
	}
	return err
}
