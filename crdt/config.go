package crdt

import (
	"fmt"

	"github.com/syncmesh/syncmesh/clock"
)

// Config configures a Doc. New copies it; a Config is a plain value.
type Config struct {
	// Replica is this replica's id: the Replica of every change it makes.
	// Required, non-zero, unique among the document's replicas, and equal to
	// Clock's replica.
	Replica clock.ReplicaID

	// Clock stamps local changes and checks remote timestamps (a change more
	// than the clock's MaxDrift ahead of physical time is quarantined).
	// Required: the Doc reads time only through it, so tests inject a clock
	// over clock.NewManual.
	Clock *clock.Clock

	// Strategies chooses the conflict strategy per path. Default nil: every
	// path is LastWriterWins. Every replica must use an equal table (compare
	// Strategies.Fingerprint); it must not change after New.
	Strategies *Strategies

	// MaxPending bounds the number of causally premature changes held until
	// their prerequisites arrive. Default 10,000: enough for a burst from a
	// reordering network; beyond it changes are dropped (counted) and
	// anti-entropy offers them again, since the version vector did not move.
	// Changes that a gap applied here relies on (its author's writes up to
	// the gap's Until) may fill it to twice the bound, at least the default,
	// before they are dropped (see docs/crdt.md, "Superseded writes").
	MaxPending int

	// MaxPendingBytes bounds the estimated memory of the pending buffer in
	// bytes. Default 16 MiB, for the same reason as MaxPending.
	MaxPendingBytes int

	// MaxQuarantine bounds the number of changes held because their
	// timestamps were too far ahead of physical time. Default 10,000; beyond
	// it they are dropped (counted) and arrive again by anti-entropy. Changes
	// a gap relies on get the same second allowance as in MaxPending.
	MaxQuarantine int

	// SkipPatches makes the remote entry points (Apply, ApplyEncoded,
	// ApplyEncodedOwned, RetryQuarantined, MergeSnapshot) compute no
	// visible patches: their Result.Patches is nil, and State renders the
	// registers on its first read after a remote change instead of
	// applying patches. For a replica whose changes nobody watches (a
	// relay, a store, a simulated node) it saves the patch work and its
	// memory; a read then costs a render of the whole state, so a replica
	// read after every change should keep the default. Local updates
	// (Update and its kin) still return their patches. Default false.
	SkipPatches bool
}

// Defaults for Config.
const (
	DefaultMaxPending      = 10_000
	DefaultMaxPendingBytes = 16 << 20
	DefaultMaxQuarantine   = 10_000
)

// DefaultConfig returns a Config for replica using clk, with default bounds
// and no strategy table.
func DefaultConfig(replica clock.ReplicaID, clk *clock.Clock) Config {
	return Config{
		Replica:         replica,
		Clock:           clk,
		MaxPending:      DefaultMaxPending,
		MaxPendingBytes: DefaultMaxPendingBytes,
		MaxQuarantine:   DefaultMaxQuarantine,
	}
}

// Validate reports whether c can configure a Doc; zero bounds are valid and
// mean the defaults.
func (c Config) Validate() error {
	if c.Replica == 0 {
		return fmt.Errorf("%w: Replica must be non-zero", ErrConfig)
	}
	if c.Clock == nil {
		return fmt.Errorf("%w: Clock is required", ErrConfig)
	}
	if c.Clock.Replica() != c.Replica {
		return fmt.Errorf("%w: Clock replica %s differs from Replica %s", ErrConfig, c.Clock.Replica(), c.Replica)
	}
	if c.MaxPending < 0 || c.MaxPendingBytes < 0 || c.MaxQuarantine < 0 {
		return fmt.Errorf("%w: negative bound", ErrConfig)
	}
	return nil
}

func (c *Config) fill() {
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if c.MaxQuarantine == 0 {
		c.MaxQuarantine = DefaultMaxQuarantine
	}
}
