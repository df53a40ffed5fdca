package clock

import (
	"fmt"
	"time"
)

// DefaultMaxDrift is the default Config.MaxDrift.
const DefaultMaxDrift = 500 * time.Millisecond

// Config configures a Clock. A Config is a plain value; New copies it.
type Config struct {
	// Replica is this replica's id, stamped on every timestamp the Clock
	// issues. Required, non-zero, and unique among the replicas of a
	// document: it is the final tiebreak of the total order.
	Replica ReplicaID

	// Physical is the source of physical time. Default (nil): System().
	// Tests and simulations inject a *Manual so that time is deterministic.
	Physical Physical

	// MaxDrift is how far ahead of this replica's physical time a remote
	// timestamp's Wall may be and still be accepted by Update, measured in
	// whole milliseconds (sub-millisecond parts are ignored). A remote exactly
	// MaxDrift ahead is accepted; one millisecond more is rejected.
	// Default 500ms (DefaultConfig): generous for NTP-synchronised hosts,
	// yet it keeps a peer with a broken clock from dragging everyone's
	// timestamps into the future. Zero or negative is a configuration error,
	// because it would reject timestamps from replicas whose clocks are
	// merely a millisecond ahead.
	MaxDrift time.Duration

	// Resume is the last timestamp this replica issued or observed before it
	// stopped (Clock.Last, persisted by the caller). Now never returns a
	// timestamp <= Resume, even if the physical clock is now behind it.
	// Default: the zero Timestamp (a fresh replica). Its Wall must be in
	// [0, MaxWall], and it must not be the very last representable
	// timestamp.
	Resume Timestamp
}

// DefaultConfig returns a Config for replica with the system clock and the
// default MaxDrift.
func DefaultConfig(replica ReplicaID) Config {
	return Config{Replica: replica, Physical: System(), MaxDrift: DefaultMaxDrift}
}

// Validate returns an error wrapping ErrConfig if c cannot configure a Clock.
// A nil Physical is valid (it defaults to System()).
func (c Config) Validate() error {
	if c.Replica == 0 {
		return fmt.Errorf("%w: Replica must be non-zero", ErrConfig)
	}
	if c.MaxDrift <= 0 {
		return fmt.Errorf("%w: MaxDrift must be positive, got %v", ErrConfig, c.MaxDrift)
	}
	if err := c.Resume.Validate(); err != nil {
		return fmt.Errorf("%w: Resume: %v", ErrConfig, err)
	}
	if c.Resume.packed() == lastPacked {
		return fmt.Errorf("%w: Resume %s is the last representable timestamp", ErrConfig, c.Resume)
	}
	return nil
}
