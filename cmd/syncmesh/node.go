package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/server"
)

const nodeAbout = `
Run one syncmesh node until SIGINT or SIGTERM: it gossips with its peers over
memberlist (--bind), serves the HTTP API and the dashboard (--http, see
docs/http-api.md), and on a signal leaves the mesh and stops cleanly.

Once serving it prints one line per listener to standard output:
  mesh 127.0.0.1:7946
  http http://127.0.0.1:7947/
Logs go to standard error.

State is durable: the node keeps its document, replica id and clock in
--data-dir (one file, syncmesh.db; default syncmesh/<name> under
$XDG_STATE_HOME or ~/.local/state). A write through the API is answered
only once it is fsynced, and a node restarted on the same directory, even
after SIGKILL, comes back with every write it acknowledged and catches up
with its peers. A node whose directory is lost comes back as a new replica.
A damaged directory, or one written for another mesh (--label) or strategy
table, makes the node refuse to start; it is never repaired or
overwritten: restore a backup, or move it away to start as a new replica.
On SIGINT or SIGTERM the node leaves the mesh and flushes and closes the
store.

Example, three nodes on one machine:
  syncmesh node --name n1 --bind 127.0.0.1:7946 --http 127.0.0.1:7947
  syncmesh node --name n2 --bind 127.0.0.1:7956 --http 127.0.0.1:7957 --join 127.0.0.1:7946
  syncmesh node --name n3 --bind 127.0.0.1:7966 --http 127.0.0.1:7967 --join 127.0.0.1:7946`

// listFlag is a repeatable, comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func nodeCmd(ctx context.Context, e *env, args []string) error {
	cfg := server.DefaultConfig()
	fs := newFlags(e, "node", "[flags]", nodeAbout)
	fs.StringVar(&cfg.Name, "name", cfg.Name, "unique node name in the mesh")
	fs.StringVar(&cfg.Bind, "bind", cfg.Bind, "memberlist address host:port, UDP and TCP (0.0.0.0:7946 to serve a LAN; port 0 picks one)")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address peers should use, when it differs from --bind (NAT, containers)")
	fs.Var((*listFlag)(&cfg.Join), "join", "peer host:port to join; repeat or comma-separate (retried until one answers)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "data directory holding the node's durable state (default $XDG_STATE_HOME/syncmesh/<name>, ~/.local/state/syncmesh/<name>, or ./syncmesh-data/<name> without a home)")
	fs.BoolVar(&cfg.NoSync, "no-sync", false, "do not fsync the store: faster, but acknowledged writes may be lost on power failure (tests only)")
	fs.StringVar(&cfg.HTTP, "http", cfg.HTTP, "HTTP API and dashboard address host:port (\"\" disables; reads are unauthenticated, keep it on loopback or behind a proxy)")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "file of mesh encryption keys, one per line, base64 or hex, 16/24/32 bytes; the first encrypts")
	fs.StringVar(&cfg.Label, "label", cfg.Label, "mesh label: nodes with another label ignore each other")
	fs.StringVar(&cfg.StrategiesFile, "strategies", "", "YAML or JSON strategy table, pattern: lww|multi|counter|max|min (same file on every node)")
	fs.StringVar(&cfg.Profile, "profile", cfg.Profile, "memberlist timing preset: lan, wan or local")
	tokenFile := fs.String("token-file", "", "file holding the bearer token required for writes (default $SYNCMESH_TOKEN; none: writes are open)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", cfg.MaxBodyBytes, "largest HTTP request body in bytes (larger: 413)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, opts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(e.stderr, opts))
	default:
		return usagef("--log-format %q: want text or json", *logFormat)
	}
	cfg.Token = e.getenv("SYNCMESH_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
		if cfg.Token == "" {
			return usagef("--token-file %s is empty", *tokenFile)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	cfg.Out = e.stdout
	return server.Run(ctx, cfg)
}
