package draft

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package is one of these or
// a typed error (*PathError, *PointerError, *PatchError) that unwraps to
// one, so callers test with errors.Is.
var (
	// ErrNotFound: a path step names a key or index that does not exist.
	ErrNotFound = errors.New("draft: path not found")
	// ErrWrongType: a path step meets a value of the wrong kind (a key in a
	// list, an index in a scalar, a list op on a map, incrementing a
	// string).
	ErrWrongType = errors.New("draft: wrong value type")
	// ErrIndexRange: a list index or range is outside the list.
	ErrIndexRange = errors.New("draft: list index out of range")
	// ErrBadPointer: a JSON Pointer is malformed.
	ErrBadPointer = errors.New("draft: malformed JSON pointer")
	// ErrBadPatch: a patch is malformed (unknown op, missing member, a
	// move into its own child, a value that is absent).
	ErrBadPatch = errors.New("draft: malformed patch")
	// ErrTestFailed: a "test" patch found a different value.
	ErrTestFailed = errors.New("draft: test failed")
	// ErrFinished: the draft was used after Finish (or after its Produce
	// returned).
	ErrFinished = errors.New("draft: draft already finished")
	// ErrBadValue: a Go value cannot be converted, or a Value cannot be
	// encoded (NaN in JSON, too deep).
	ErrBadValue = errors.New("draft: unsupported value")
	// ErrOwnerBusy: an owned operation was started while another one of
	// the same Owner runs (from inside its recipe), or an owned draft was
	// finished by hand (its produce finishes it).
	ErrOwnerBusy = errors.New("draft: owner busy with an owned operation")
)

// PathError reports an operation that failed at a path. It unwraps to a
// sentinel (ErrNotFound, ErrWrongType, ErrIndexRange, ...). Like the other
// error types here it is never modified after it is returned, so it is
// safe for concurrent reads.
type PathError struct {
	Op   string // the operation: "set", "delete", "insert", "move", ...
	Path Path   // the path the operation addressed
	Err  error  // a sentinel
}

func (e *PathError) Error() string {
	return fmt.Sprintf("draft: %s at %q: %s", e.Op, e.Path.String(), strings.TrimPrefix(e.Err.Error(), "draft: "))
}

func (e *PathError) Unwrap() error { return e.Err }

// PointerError reports a malformed JSON Pointer. It unwraps to
// ErrBadPointer.
type PointerError struct {
	Pointer string
	Reason  string
}

func (e *PointerError) Error() string {
	return fmt.Sprintf("draft: malformed JSON pointer %q: %s", e.Pointer, e.Reason)
}

func (e *PointerError) Unwrap() error { return ErrBadPointer }

// PatchError reports which patch of a list failed in Apply (or failed to
// decode). It unwraps to the underlying error.
type PatchError struct {
	Index int   // position of the patch in the list given to Apply
	Patch Patch // the patch
	Err   error
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("draft: patch %d (%s %q): %s", e.Index, e.Patch.Op, e.Patch.Path.String(), strings.TrimPrefix(e.Err.Error(), "draft: "))
}

func (e *PatchError) Unwrap() error { return e.Err }
