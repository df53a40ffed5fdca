package seq

import (
	"errors"
	"fmt"
)

var (
	// ErrDuplicate: the slot id is already in the list. Integrate reports it
	// with the slot's current index and changes nothing (idempotent delivery).
	ErrDuplicate = errors.New("seq: slot id already present")
	// ErrMissingOrigin: an origin of a remote insert is not in the list yet;
	// the caller must deliver it first. Returned wrapped in *MissingOriginError.
	ErrMissingOrigin = errors.New("seq: origin not present")
	// ErrNotFound: no slot has the id.
	ErrNotFound = errors.New("seq: unknown slot id")
	// ErrIndex: a visible index is out of range.
	ErrIndex = errors.New("seq: index out of range")
	// ErrZeroID: the zero ID was given where a slot id is required.
	ErrZeroID = errors.New("seq: zero slot id")
	// ErrInvalidOrigins: both origins are set (a slot has exactly one parent).
	ErrInvalidOrigins = errors.New("seq: invalid origins")
	// ErrFull: the list already holds the maximum number of slots (2^30).
	ErrFull = errors.New("seq: list is full")
	// ErrVersion: the encoding has a version this build does not read.
	ErrVersion = errors.New("seq: unsupported encoding version")
	// ErrCorrupt: the encoding is malformed (truncated, inconsistent counts,
	// bad references, cycles, trailing bytes).
	ErrCorrupt = errors.New("seq: malformed encoding")
)

// MissingOriginError names the origin a remote insert needs but the list does
// not have. It unwraps to ErrMissingOrigin.
type MissingOriginError struct {
	Slot   ID // the slot being integrated
	Origin ID // the absent origin
}

func (e *MissingOriginError) Error() string {
	return fmt.Sprintf("seq: origin %v of slot %v not present", e.Origin, e.Slot)
}

func (e *MissingOriginError) Unwrap() error { return ErrMissingOrigin }

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }
