package main

import (
	"context"
	"log/slog"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/demo"
)

const demoAbout = `
Start --nodes mesh nodes in this process on 127.0.0.1, joined over real
memberlist sockets (UDP gossip, TCP repair). Nodes make concurrent,
conflicting edits: a shared todo list, a counter, the same field written on
two nodes, a delete against a concurrent edit. The demo shows progress while
they gossip, then the converged state, how each conflict was resolved and by
which strategy, and how long convergence took.

Exit status 0 when all nodes end with the same state and version vector, 1
when they do not agree within --timeout.`

func demoCmd(ctx context.Context, e *env, args []string) error {
	cfg := demo.DefaultConfig()
	fs := newFlags(e, "demo", "[flags]", demoAbout)
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "number of nodes, 2 to 50")
	fs.Float64Var(&cfg.Loss, "loss", cfg.Loss, "fraction of UDP packets to drop, 0 to 0.9 (e.g. 0.2)")
	fs.DurationVar(&cfg.Partition, "partition", cfg.Partition,
		"split the nodes into two halves during the edits and heal after this long (e.g. 2s; 0: no partition)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "give up (exit 1) if the nodes do not agree within this time")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed for replica ids and packet loss")
	web := fs.String("web", "", "serve node1's dashboard and HTTP API on this address (e.g. 127.0.0.1:8080) and keep running until Ctrl-C")
	verbose := fs.Bool("v", false, "log the nodes' activity (debug level) to stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	cfg.Out = e.stdout
	cfg.Logger = slog.New(slog.DiscardHandler)
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Web = *web
	_, err := demo.Run(ctx, cfg)
	return err
}
