package store

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Callers test for them with errors.Is;
// *CorruptError and *MismatchError carry the file and key at fault.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("store: invalid configuration")
	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt reports stored data that fails its checks: a truncated or
	// damaged file, a record whose CRC-32C does not match, a record that does
	// not decode. Returned as a *CorruptError. The store refuses to open and
	// writes nothing.
	ErrCorrupt = errors.New("store: data corrupt")
	// ErrFormat reports a data directory written by a newer format version
	// than this build understands. Returned as a *MismatchError.
	ErrFormat = errors.New("store: unsupported format version")
	// ErrForeignMesh reports a data directory that belongs to another mesh
	// (its stored mesh identity differs from Config.MeshID). Returned as a
	// *MismatchError.
	ErrForeignMesh = errors.New("store: data directory belongs to another mesh")
	// ErrFingerprint reports a data directory written under another strategy
	// table (fingerprint). Returned as a *MismatchError.
	ErrFingerprint = errors.New("store: strategy fingerprint differs from the stored one")
	// ErrLocked reports a data directory held open by another process.
	ErrLocked = errors.New("store: data directory in use by another process")
	// ErrCompacted reports a read of changes below the compaction floor: the
	// log no longer reaches back that far, and the reader needs the snapshot.
	ErrCompacted = errors.New("store: changes compacted away")
	// ErrFailed reports a store whose earlier write failed; it accepts no
	// more writes, because a later write must never be durable while an
	// earlier one is lost. Reopen it (Open checks the file) to continue.
	ErrFailed = errors.New("store: an earlier write failed")
)

// CorruptError describes damaged stored data. It unwraps to ErrCorrupt.
// A CorruptError is an immutable value, safe for concurrent use.
type CorruptError struct {
	// File is the path of the damaged file.
	File string
	// Key names the bucket and key whose value is damaged ("log/..."), or
	// "" when the damage is in the file's structure.
	Key string
	// Detail says what check failed.
	Detail string
}

// Error implements error.
func (e *CorruptError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%v: %s: %s", ErrCorrupt, e.File, e.Detail)
	}
	return fmt.Sprintf("%v: %s: key %s: %s", ErrCorrupt, e.File, e.Key, e.Detail)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// MismatchError reports a well-formed data directory that this Config must
// not use: another mesh, another fingerprint or a future format version. It
// unwraps to Err. A MismatchError is an immutable value, safe for
// concurrent use.
type MismatchError struct {
	// Err is ErrForeignMesh, ErrFingerprint or ErrFormat.
	Err error
	// File is the path of the data file.
	File string
	// Key is the meta key compared ("meta/mesh", ...).
	Key string
	// Stored and Want are the stored and expected values, printed in hex
	// (or as a decimal version for ErrFormat).
	Stored, Want string
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %s: key %s: stored %s, want %s", e.Err, e.File, e.Key, e.Stored, e.Want)
}

// Unwrap returns Err.
func (e *MismatchError) Unwrap() error { return e.Err }
