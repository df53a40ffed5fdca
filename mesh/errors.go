package mesh

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Callers test for them with errors.Is; a
// *DecodeError additionally carries the reason a message was rejected.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("mesh: invalid configuration")
	// ErrDecode reports a wire message that was rejected: unknown protocol
	// version or type, truncated, oversized or malformed. The error is a
	// *DecodeError.
	ErrDecode = errors.New("mesh: message rejected")
	// ErrIncompatible reports a peer that speaks another protocol version or
	// uses another strategy table (fingerprint), refused at join time.
	ErrIncompatible = errors.New("mesh: incompatible peer")
	// ErrClosed reports a call on a Node that has been closed.
	ErrClosed = errors.New("mesh: node closed")
	// ErrNotStarted reports a call that needs a started Node.
	ErrNotStarted = errors.New("mesh: node not started")
	// ErrStarted reports a second call to Start.
	ErrStarted = errors.New("mesh: node already started")
	// ErrCompacted is returned (wrapped) by Document.ChangesSince when some
	// of the requested changes are no longer in the document's log (they
	// were compacted into a snapshot). The core then sends a snapshot.
	ErrCompacted = errors.New("mesh: changes compacted away")
	// ErrStorage reports that the Node's durable store failed (a write or
	// commit error: disk full, I/O error). The Node then fails closed: it
	// acknowledges no more updates, and must be restarted, which re-checks
	// the data directory. It wraps the store's error.
	ErrStorage = errors.New("mesh: storage failed")
)

// RejectReason says why a wire message was rejected (a plain value). Reasons are stable
// strings, used as the "reason" label of the rejected-messages metric.
type RejectReason string

// The reasons a message can be rejected.
const (
	RejectEmpty     RejectReason = "empty"     // no bytes at all
	RejectVersion   RejectReason = "version"   // unknown protocol version
	RejectType      RejectReason = "type"      // unknown message type
	RejectTooLarge  RejectReason = "too_large" // message or field over its limit
	RejectTruncated RejectReason = "truncated" // input ended inside a field
	RejectMalformed RejectReason = "malformed" // wrong msgpack type, field count or invalid value
	RejectTrailing  RejectReason = "trailing"  // bytes left after the message
)

// DecodeError is returned by Decode for a rejected message. It unwraps to
// ErrDecode. A DecodeError is an immutable value, safe for concurrent use.
type DecodeError struct {
	// Reason classifies the rejection.
	Reason RejectReason
	// Detail names the field or value at fault.
	Detail string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("%v (%s): %s", ErrDecode, e.Reason, e.Detail)
}

// Unwrap returns ErrDecode.
func (e *DecodeError) Unwrap() error { return ErrDecode }
