package seq

import (
	"strconv"

	"github.com/syncmesh/syncmesh/clock"
)

// ID identifies one slot of a list: the id of the operation that created it.
// A replica's Seq starts at 1, so the zero ID never names a slot; it stands for
// "none" (the list head in [Origins.Left], the end in [Origins.Right]).
//
// ID is a plain value and safe for concurrent use.
type ID struct {
	Replica clock.ReplicaID
	Seq     uint64
}

// Compare orders ids by Replica, then Seq. It returns -1, 0 or +1. This is the
// order in which concurrent siblings of the Fugue tree are listed.
func (a ID) Compare(b ID) int {
	switch {
	case a.Replica < b.Replica:
		return -1
	case a.Replica > b.Replica:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// IsZero reports whether a is the zero ID ("none").
func (a ID) IsZero() bool { return a == ID{} }

// String formats a as "replica.seq" (for errors and test output).
func (a ID) String() string {
	return strconv.FormatUint(uint64(a.Replica), 10) + "." + strconv.FormatUint(a.Seq, 10)
}
