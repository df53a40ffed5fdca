package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("httpapi: invalid configuration")

// DefaultMaxBodyBytes is the default request body limit: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// Node is what the API needs from a mesh node; *mesh.Node satisfies it.
// All methods must be safe for concurrent use (handlers run concurrently);
// Update may block until the change is applied locally.
type Node interface {
	State() draft.Value
	Update(ctx context.Context, recipe func(d *draft.Draft) error) error
	Watch(ctx context.Context) <-chan mesh.Event
	Members() []mesh.Member
	Status() mesh.Status
}

// ConflictReader is implemented by nodes that can list the concurrent
// values of a register. Without it, /v1/conflicts answers 501. It must be
// safe for concurrent use.
type ConflictReader interface {
	Conflicts(path draft.Path) []crdt.Conflict
}

// PeerVersions is implemented by nodes that know their peers' version
// vectors (the demo does: its nodes share a process). Optional; the status
// endpoint and the dashboard's convergence indicator use it.
type PeerVersions interface {
	PeerVersions() map[string]mesh.VersionVector
}

// Config configures a Handler.
type Config struct {
	// Node is the node served. Required.
	Node Node
	// Strategies is the node's conflict strategy table, to name the
	// strategy of each conflict in /v1/conflicts. Default nil: strategies
	// are not named.
	Strategies *crdt.Strategies
	// MaxBodyBytes bounds request bodies (bytes); larger ones get 413.
	// Default 1 MiB: far above a typical patch, small enough that a client
	// cannot make the node buffer much.
	MaxBodyBytes int64
	// Token, when non-empty, is the bearer token required on write
	// endpoints (PATCH /v1/state). Reads stay open: bind to loopback (the
	// default of syncmesh node) or put a proxy in front to protect them.
	// Default empty: no token.
	Token string
	// Gatherer serves /metrics. Default nil: a registry with only this
	// package's request counter.
	Gatherer prometheus.Gatherer
	// Registerer, when set, gets this package's request counter
	// (syncmesh_http_requests_total). Default nil.
	Registerer prometheus.Registerer
	// MaxConflictPaths bounds how many paths GET /v1/conflicts without a
	// path examines when it scans the whole state. Default 10,000, so a big
	// document cannot make one request walk it all.
	MaxConflictPaths int
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
}

// Validate reports the first invalid field, wrapped in ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.Node == nil:
		return fmt.Errorf("%w: Node is nil", ErrConfig)
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("%w: MaxBodyBytes %d is negative", ErrConfig, c.MaxBodyBytes)
	case c.MaxConflictPaths < 0:
		return fmt.Errorf("%w: MaxConflictPaths %d is negative", ErrConfig, c.MaxConflictPaths)
	}
	return nil
}
