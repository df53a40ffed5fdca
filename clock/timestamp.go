package clock

import (
	"cmp"
	"fmt"
)

// ReplicaID identifies one replica: one node's copy of the document. Zero is
// not a valid id. ReplicaID is a plain value, safe for concurrent use.
type ReplicaID uint64

// String returns the id as exactly 16 lowercase hexadecimal digits, so that
// the string order of ids is their numeric order.
func (r ReplicaID) String() string {
	var b [16]byte
	return string(appendHex(b[:0], uint64(r), 16))
}

// ParseReplicaID parses the 16-digit lowercase hexadecimal form written by
// ReplicaID.String. It returns an error wrapping ErrMalformed for any other
// input, including the zero id.
func ParseReplicaID(s string) (ReplicaID, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("%w: replica id %q is not 16 hex digits", ErrMalformed, s)
	}
	v, ok := parseHex(s)
	if !ok {
		return 0, fmt.Errorf("%w: replica id %q is not lowercase hex", ErrMalformed, s)
	}
	if v == 0 {
		return 0, fmt.Errorf("%w: replica id zero is invalid", ErrMalformed)
	}
	return ReplicaID(v), nil
}

// MaxWall is the largest Wall a Timestamp can hold: Wall has 48 bits, enough
// for milliseconds until the year 10889.
const MaxWall = 1<<48 - 1

// Timestamp is a hybrid logical clock timestamp. Timestamps are totally
// ordered by (Wall, Logical, Replica); see Compare. The zero Timestamp means
// "none" and sorts before every other timestamp.
//
// A Timestamp is valid when 0 <= Wall <= MaxWall. Every Timestamp returned by
// Clock, Decode and Parse is valid; Validate checks one built by hand.
// Timestamp is a plain value, safe for concurrent use.
type Timestamp struct {
	// Wall is physical time in milliseconds since the Unix epoch, as the
	// clock knew it: never behind the issuing replica's physical time, and
	// ahead of it only by what the replica learned from others.
	Wall int64
	// Logical counts events within the same Wall millisecond.
	Logical uint16
	// Replica is the replica that issued the timestamp: the final tiebreak
	// that makes the order total.
	Replica ReplicaID
}

// Compare returns -1, 0 or +1 as t sorts before, equal to or after o, by
// Wall, then Logical, then Replica.
func (t Timestamp) Compare(o Timestamp) int {
	if c := cmp.Compare(t.Wall, o.Wall); c != 0 {
		return c
	}
	if c := cmp.Compare(t.Logical, o.Logical); c != 0 {
		return c
	}
	return cmp.Compare(t.Replica, o.Replica)
}

// Less reports whether t sorts before o.
func (t Timestamp) Less(o Timestamp) bool { return t.Compare(o) < 0 }

// IsZero reports whether t is the zero Timestamp ("none").
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Validate returns an error wrapping ErrMalformed if Wall is outside
// [0, MaxWall], and nil otherwise. A zero Replica is allowed here (the zero
// Timestamp and search bounds use it); Clock.Update additionally requires a
// non-zero Replica.
func (t Timestamp) Validate() error {
	if t.Wall < 0 || t.Wall > MaxWall {
		return fmt.Errorf("%w: wall %d outside [0, %d]", ErrMalformed, t.Wall, int64(MaxWall))
	}
	return nil
}

// packed returns Wall and Logical as one integer with the same order:
// Wall<<16 | Logical. t must be valid.
func (t Timestamp) packed() uint64 { return uint64(t.Wall)<<16 | uint64(t.Logical) }

// unpack is the inverse of packed.
func unpack(p uint64, r ReplicaID) Timestamp {
	return Timestamp{Wall: int64(p >> 16), Logical: uint16(p), Replica: r}
}
