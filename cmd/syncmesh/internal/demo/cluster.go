package demo

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/faultnet"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// ClusterConfig configures StartCluster.
type ClusterConfig struct {
	// Nodes is the number of nodes, named node1..nodeN. Required, >= 1.
	Nodes int
	// Loss is the fraction of UDP packets dropped (faultnet). Default 0.
	Loss float64
	// Seed seeds replica ids and loss. Default 0.
	Seed uint64
	// Strategies is the conflict strategy table of every node. Default
	// nil: last-writer-wins everywhere.
	Strategies *crdt.Strategies
	// Logger receives the nodes' logs. Default: discard.
	Logger *slog.Logger
}

// Cluster is a set of mesh nodes in this process over real memberlist
// sockets on 127.0.0.1, joined into one mesh. Its methods are safe for
// concurrent use; Close must be called once.
type Cluster struct {
	Nodes      []*mesh.Node
	Net        *faultnet.Network
	Strategies *crdt.Strategies
	names      map[clock.ReplicaID]string
	log        *slog.Logger
	metrics    *prometheus.Registry // node1's mesh metrics, for Serve
}

// StartCluster starts cfg.Nodes nodes, joins them through node1 and waits
// until every node sees every other, or ctx ends.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("%w: a cluster needs at least one node", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fn, err := faultnet.New(faultnet.Config{Loss: cfg.Loss, Seed: cfg.Seed,
		Logger: log.New(&slogWriter{cfg.Logger}, "", 0)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := &Cluster{Net: fn, Strategies: cfg.Strategies, names: make(map[clock.ReplicaID]string), log: cfg.Logger,
		metrics: prometheus.NewRegistry()}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	for i := range cfg.Nodes {
		if err := c.add(ctx, cfg, i, rng); err != nil {
			c.Close()
			return nil, err
		}
	}
	seed := []string{c.Nodes[0].Addr()}
	for _, n := range c.Nodes[1:] {
		if _, err := n.Join(ctx, seed); err != nil {
			c.Close()
			return nil, fmt.Errorf("demo: %s joining %s: %w", n.Name(), seed[0], err)
		}
	}
	if err := c.waitMembers(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) add(ctx context.Context, cfg ClusterConfig, i int, rng *rand.Rand) error {
	name := fmt.Sprintf("node%d", i+1)
	t, err := c.Net.Listen("127.0.0.1")
	if err != nil {
		return err
	}
	mcfg := mesh.LocalConfig()
	mcfg.Name = name
	mcfg.Transport = t
	mcfg.Seed = rng.Uint64()
	mcfg.Logger = cfg.Logger.With("node", name)
	if i == 0 {
		mcfg.Registerer = c.metrics
	}
	replica := clock.ReplicaID(rng.Uint64()>>1 | 1)
	mcfg.Replica, mcfg.Strategies = replica, cfg.Strategies
	n, err := mesh.New(mcfg)
	if err != nil {
		_ = t.Shutdown()
		return err
	}
	if err := n.Start(ctx); err != nil {
		_ = t.Shutdown()
		return fmt.Errorf("demo: starting %s: %w", name, err)
	}
	c.Nodes = append(c.Nodes, n)
	c.names[replica] = name
	return nil
}

// waitMembers polls until every node sees all nodes.
func (c *Cluster) waitMembers(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := true
		for _, n := range c.Nodes {
			if len(n.Members()) != len(c.Nodes) {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for all nodes to see each other: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// NameOf returns the name of the node owning replica r ("?" if unknown).
func (c *Cluster) NameOf(r clock.ReplicaID) string {
	if n, ok := c.names[r]; ok {
		return n
	}
	return "?"
}

// Progress reports how many nodes hold every change any node has, and how
// many changes (operations) that is.
func (c *Cluster) Progress() (upToDate int, ops uint64) {
	return c.progressOf(c.Nodes)
}

// progressOf is Progress among nodes only.
func (c *Cluster) progressOf(nodes []*mesh.Node) (upToDate int, ops uint64) {
	vs := make([]mesh.VersionVector, len(nodes))
	all := mesh.VersionVector{}
	for i, n := range nodes {
		vs[i] = n.Version()
		for r, s := range vs[i] {
			all[r] = max(all[r], s)
		}
	}
	for _, v := range vs {
		if v.Covers(all) {
			upToDate++
		}
	}
	return upToDate, all.Total()
}

// Converged reports whether every node has an equal version vector and an
// equal state.
func (c *Cluster) Converged() bool {
	v0, s0 := c.Nodes[0].Version(), c.Nodes[0].State()
	for _, n := range c.Nodes[1:] {
		v := n.Version()
		if !v.Covers(v0) || !v0.Covers(v) || !n.State().Equal(s0) {
			return false
		}
	}
	return true
}

// PeerVersions returns the version vectors of every node but self, by
// name: in one process the demo can see them all (httpapi.PeerVersions).
func (c *Cluster) PeerVersions(self string) map[string]mesh.VersionVector {
	out := make(map[string]mesh.VersionVector, len(c.Nodes))
	for _, n := range c.Nodes {
		if n.Name() != self {
			out[n.Name()] = n.Version()
		}
	}
	return out
}

// Close stops every node (without a leave announcement: the whole mesh
// goes away at once).
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.Close())
	}
	return errors.Join(errs...)
}

// set returns a recipe step writing JSON text at a JSON Pointer.
func set(d *draft.Draft, pointer, jsonText string) error {
	v, err := draft.ParseJSON([]byte(jsonText))
	if err != nil {
		return err
	}
	return d.Set(draft.MustParsePointer(pointer), v)
}

// slogWriter turns memberlist's log.Logger lines into debug records.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(string(p))
	return len(p), nil
}
