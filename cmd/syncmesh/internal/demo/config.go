package demo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("demo: invalid configuration")

// Config configures a demo run.
type Config struct {
	// Nodes is the number of mesh nodes started in this process. Default 5;
	// at least 2 (conflicts need two writers), at most 50 (one process,
	// one machine).
	Nodes int
	// Loss is the fraction of outgoing UDP packets dropped, in [0, 0.9].
	// Default 0. Gossip loses changes; anti-entropy (every second) repairs.
	Loss float64
	// Partition, when positive, splits the nodes into two halves before the
	// conflicting edits and heals the split after this long. Default 0: no
	// partition.
	Partition time.Duration
	// Timeout bounds the whole run, startup included. Default 25 s, so that
	// the demo finishes within 30 s on a fresh machine even when it fails.
	Timeout time.Duration
	// Seed seeds replica ids and packet loss. Default 1: runs repeat.
	Seed uint64
	// Out receives the demo's human-readable output. Default io.Discard.
	Out io.Writer
	// Logger receives the nodes' logs. Default: discard.
	Logger *slog.Logger
	// Web, when set, serves node1's HTTP API and dashboard on this address
	// (host:port) from the start, and keeps the mesh running after the demo
	// until the context given to Run ends. Default empty: no server.
	Web string
	// Progress is the interval between progress checks while nodes gossip.
	// Default 50 ms.
	Progress time.Duration
}

// DefaultConfig returns the demo's defaults.
func DefaultConfig() Config {
	return Config{Nodes: 5, Timeout: 25 * time.Second, Seed: 1, Progress: 50 * time.Millisecond}
}

// Validate reports the first invalid field, wrapped in ErrConfig.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Nodes < 2 || c.Nodes > 50:
		return bad("nodes must be between 2 and 50, got %d", c.Nodes)
	case c.Loss < 0 || c.Loss > 0.9:
		return bad("loss must be a fraction between 0 and 0.9, got %v", c.Loss)
	case c.Partition < 0:
		return bad("partition must not be negative, got %v", c.Partition)
	case c.Timeout <= 0:
		return bad("timeout must be positive, got %v", c.Timeout)
	case c.Partition > 0 && c.Partition >= c.Timeout:
		return bad("partition (%v) must be shorter than the timeout (%v)", c.Partition, c.Timeout)
	case c.Progress < 0:
		return bad("progress interval must not be negative, got %v", c.Progress)
	}
	return nil
}

func (c *Config) fill() {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == 0 {
		c.Progress = 50 * time.Millisecond
	}
}
