package clock

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package. Callers test for them with errors.Is; a
// *DriftError additionally carries the numbers behind a drift rejection.
var (
	// ErrMalformed reports a timestamp that cannot be decoded or parsed, or a
	// remote timestamp whose fields are out of range (Wall outside
	// [0, MaxWall], or a zero Replica).
	ErrMalformed = errors.New("clock: malformed timestamp")
	// ErrDrift reports a remote timestamp whose Wall is more than MaxDrift
	// ahead of this replica's physical time. The error is a *DriftError.
	ErrDrift = errors.New("clock: remote timestamp too far ahead of physical time")
	// ErrReplicaCollision reports a remote timestamp carrying this clock's own
	// ReplicaID that is later than anything this clock has issued or observed:
	// another replica is using the same id.
	ErrReplicaCollision = errors.New("clock: our replica id with a timestamp we never issued")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("clock: invalid configuration")
	// ErrExhausted reports that accepting a remote timestamp would need a
	// timestamp after the last representable one (Wall MaxWall, Logical
	// 65535). It cannot happen before the year 10889 unless a Physical
	// reports such times.
	ErrExhausted = errors.New("clock: timestamp space exhausted")
)

// DriftError is returned by Clock.Update and Clock.Check when a remote
// timestamp is more than MaxDrift ahead of physical time. It unwraps to
// ErrDrift. A DriftError is an immutable value, safe for concurrent use.
type DriftError struct {
	// Remote is the rejected timestamp.
	Remote Timestamp
	// Physical is the physical time, in milliseconds since the Unix epoch,
	// that Remote was measured against.
	Physical int64
	// MaxDrift is the configured maximum drift.
	MaxDrift time.Duration
}

// Error implements error.
func (e *DriftError) Error() string {
	return fmt.Sprintf("%v: remote %s is %dms ahead of physical time %d (max drift %v)",
		ErrDrift, e.Remote, e.Remote.Wall-e.Physical, e.Physical, e.MaxDrift)
}

// Unwrap returns ErrDrift.
func (e *DriftError) Unwrap() error { return ErrDrift }

// Is reports whether target is ErrDrift.
func (e *DriftError) Is(target error) bool { return target == ErrDrift }
