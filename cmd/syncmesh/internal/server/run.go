package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/httpapi"
	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/strategy"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/mesh"
)

// Run starts the node and its HTTP API and serves until ctx ends, then
// stops cleanly (see the package invariants). It returns an error when the
// node cannot start or the HTTP server fails.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	log := cfg.Logger
	if cfg.DataDir == "" {
		d, err := DefaultDataDir(cfg.Name)
		if err != nil {
			return err
		}
		cfg.DataDir = d
	}
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}

	var strat *crdt.Strategies
	if cfg.StrategiesFile != "" {
		st, err := strategy.Load(cfg.StrategiesFile)
		if err != nil {
			return fmt.Errorf("%w: --strategies: %w", ErrConfig, err)
		}
		strat = st
	}
	mcfg, err := meshConfig(cfg, strat)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mcfg.Registerer = reg
	opened := time.Now()
	node, err := mesh.New(mcfg)
	if err != nil {
		// A damaged or foreign data directory: refuse, and leave it alone.
		return err
	}
	ver := node.Version()
	log.Info("data directory opened", "data_dir", cfg.DataDir, "replica", node.Replica(),
		"ops", ver.Total(), "took", time.Since(opened).Round(time.Millisecond), "fsync", !cfg.NoSync)
	if err := node.Start(ctx); err != nil {
		node.Close()
		return err
	}
	defer node.Close()
	fmt.Fprintf(cfg.Out, "mesh %s\n", node.Addr())
	log.Info("node started", "name", cfg.Name, "mesh", node.Addr(), "data_dir", cfg.DataDir,
		"encrypted", len(mcfg.SecretKeys) > 0, "label", mcfg.Label)

	// Handlers (watch streams) see srvCtx end before Shutdown waits for them.
	srvCtx, stopHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHandlers()
	var srv *http.Server
	serveErr := make(chan error, 1)
	if cfg.HTTP != "" {
		h, err := httpapi.New(httpapi.Config{Node: node, Strategies: strat, Token: cfg.Token,
			MaxBodyBytes: cfg.MaxBodyBytes, Gatherer: reg, Registerer: reg, Logger: log})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTP)
		if err != nil {
			return fmt.Errorf("server: --http %s: %w", cfg.HTTP, err)
		}
		srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return srvCtx },
			ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { serveErr <- srv.Serve(ln) }()
		fmt.Fprintf(cfg.Out, "http http://%s/\n", ln.Addr())
		log.Info("HTTP API and dashboard listening", "url", "http://"+ln.Addr().String()+"/")
	}

	var wg sync.WaitGroup
	joinCtx, stopJoin := context.WithCancel(ctx)
	if len(cfg.Join) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			joinLoop(joinCtx, node, cfg.Join, log)
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping", "cause", context.Cause(ctx))
	case err := <-serveErr:
		runErr = fmt.Errorf("server: HTTP: %w", err)
	}
	stopJoin()
	wg.Wait()
	stopHandlers()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("HTTP shutdown", "err", err)
		}
		cancel()
	}
	lctx, cancel := context.WithTimeout(context.Background(), cfg.LeaveTimeout)
	if err := node.Leave(lctx); err != nil {
		log.Warn("leaving the mesh", "err", err)
	}
	cancel()
	// Close flushes the store: every write queued is committed.
	if err := node.Close(); err != nil {
		return errors.Join(runErr, err)
	}
	log.Info("stopped")
	return runErr
}

// meshConfig turns cfg into a mesh.Config.
func meshConfig(cfg Config, strat *crdt.Strategies) (mesh.Config, error) {
	mk, err := profile(cfg.Profile)
	if err != nil {
		return mesh.Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	m := mk()
	m.Name = cfg.Name
	m.BindAddr, m.BindPort, _ = splitHostPort(cfg.Bind)
	if cfg.Advertise != "" {
		m.AdvertiseAddr, m.AdvertisePort, _ = splitHostPort(cfg.Advertise)
	}
	if cfg.Label != "" {
		m.Label = cfg.Label
	}
	m.Strategies = strat
	m.Logger = cfg.Logger
	m.DataDir, m.NoSync = cfg.DataDir, cfg.NoSync
	m.MeshID = []byte("label:" + m.Label)
	if cfg.KeyFile != "" {
		keys, err := ReadKeys(cfg.KeyFile)
		if err != nil {
			return mesh.Config{}, err
		}
		m.SecretKeys = keys
	}
	return m, nil
}

// prepareDataDir creates dir (0700) and checks that it is writable.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: --data-dir: %w", ErrConfig, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("%w: --data-dir %s is not writable: %w", ErrConfig, dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// joinLoop joins peers, retrying with a growing delay (up to 5 s) until one
// answers or ctx ends.
func joinLoop(ctx context.Context, node *mesh.Node, peers []string, log *slog.Logger) {
	delay := 200 * time.Millisecond
	for {
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		k, err := node.Join(jctx, peers)
		cancel()
		if err == nil && k > 0 {
			log.Info("joined the mesh", "contacted", k, "members", len(node.Members()))
			return
		}
		log.Warn("join failed; retrying", "peers", peers, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}
