package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// env is the process's streams and environment, injected so tests can run
// commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a command-line mistake: exit code 2, with a hint to --help.
// printed says the flag package already printed the problem.
type usageError struct {
	msg     string
	printed bool
}

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func (e *env) errorf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "syncmesh: "+format+"\n", a...)
}

// exit prints err (if any) and returns the exit code for it.
func (e *env) exit(cmd string, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue) && ue.printed:
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "syncmesh %s: %v\nRun 'syncmesh %s --help' for usage.\n", cmd, err, cmd)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "syncmesh %s: %v\n", cmd, err)
		return exitFail
	}
}

// commands lists every command with its one-line summary, in help order.
var commands = []struct{ name, args, summary string }{
	{"demo", "[flags]", "start a mesh on loopback, make conflicting edits, watch it converge"},
	{"node", "[flags]", "run one long-lived node with an HTTP API and dashboard"},
	{"get", "[pointer]", "print the state, or the value at a JSON Pointer"},
	{"set", "pointer json-value", "write a JSON value at a JSON Pointer"},
	{"delete", "pointer", "remove the value at a JSON Pointer"},
	{"patch", "file.json|-", "apply an RFC 6902 JSON Patch atomically"},
	{"watch", "", "stream changes as they arrive (Server-Sent Events)"},
	{"members", "", "list the mesh members a node sees"},
	{"status", "", "print a node's status (version vector, queues, counters)"},
	{"conflicts", "pointer", "list the concurrent values at a JSON Pointer"},
	{"sim", "", "moved: go run ./cmd/syncmesh-sim (convergence simulations)"},
}

func (e *env) usage() {
	w := e.stderr
	fmt.Fprint(w, "usage: syncmesh <command> [flags] [args]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %-20s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprint(w, `
Client commands (get ... conflicts) talk to a node's HTTP API: --addr or
$SYNCMESH_ADDR (default http://127.0.0.1:7947), token from --token-file or
$SYNCMESH_TOKEN for writes.

Run 'syncmesh <command> --help' for a command's flags.
`)
}

func helpCmd(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		e.stderr, e.stdout = e.stdout, e.stderr
		e.usage()
		return exitOK
	}
	// "syncmesh help demo" is "syncmesh demo --help".
	return run(ctx, e, []string{args[0], "--help"})
}

// newFlags returns a FlagSet for one command whose usage text starts with
// the command line and a description.
func newFlags(e *env, name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("syncmesh "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: syncmesh %s %s\n\n%s\n", name, args, strings.TrimSpace(about))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args, turning flag errors into usage errors. The flag
// package has already printed the problem and the usage text.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error(), printed: true}
	}
	return nil
}
