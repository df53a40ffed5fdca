package crdt

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Typed errors unwrap to one of these; test
// with errors.Is.
var (
	// ErrConfig reports an invalid Config or strategy table.
	ErrConfig = errors.New("crdt: invalid configuration")
	// ErrMalformed reports bytes that do not decode to a change or snapshot,
	// or a decoded change that breaks a structural rule (wrong timestamp
	// replica, zero sequence, a value that cannot be stored).
	ErrMalformed = errors.New("crdt: malformed input")
	// ErrVersion reports an encoding version or message type this build does
	// not know.
	ErrVersion = errors.New("crdt: unknown encoding version or type")
	// ErrTooLarge reports input larger than the decoder's limits.
	ErrTooLarge = errors.New("crdt: input too large")
	// ErrPendingFull reports that a change could not be buffered because the
	// pending buffer is full. Nothing is lost: the version vector did not
	// advance, so anti-entropy offers the change again.
	ErrPendingFull = errors.New("crdt: pending buffer full")
	// ErrPath reports a path that does not address a value in the document,
	// or a patch that cannot be turned into operations.
	ErrPath = errors.New("crdt: bad path")
	// ErrReplica reports a change whose author is this replica but which this
	// replica never made (two replicas share an id), or a clock error other
	// than drift.
	ErrReplica = errors.New("crdt: replica conflict")
	// ErrLaw reports a custom merge function that breaks a required law
	// (see CheckMergeLaws).
	ErrLaw = errors.New("crdt: merge function breaks a law")
	// ErrCompacted reports a reader whose version vector is below what the
	// op log still holds (see Doc.Compact and Doc.ChangesSinceErr): it
	// needs a snapshot, not changes.
	ErrCompacted = errors.New("crdt: changes compacted away")
)

// LawError is a counterexample found by CheckMergeLaws. It unwraps to ErrLaw.
// A plain value.
type LawError struct {
	// Law is "deterministic", "idempotent", "commutative" or "associative".
	Law string
	// Inputs are the generated values that break the law.
	Inputs []string
	// Got and Want are the two results that should have been equal.
	Got, Want string
}

// Error implements error.
func (e *LawError) Error() string {
	return fmt.Sprintf("crdt: merge function is not %s: inputs %v: %s != %s", e.Law, e.Inputs, e.Got, e.Want)
}

// Unwrap returns ErrLaw.
func (e *LawError) Unwrap() error { return ErrLaw }
