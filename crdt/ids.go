package crdt

import (
	"cmp"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
)

// OpID identifies one operation: the replica that made it and that
// replica's sequence number for it (contiguous from 1). The zero OpID means
// "none". An insert's OpID is also the identity of the list element it
// creates.
type OpID = seq.ID

// opLess orders operations for last-writer-wins: by timestamp (which ends
// with the replica), then by replica and sequence number, so that two ops of
// one change (same timestamp) are ordered by their position in it.
func opLess(ats clock.Timestamp, a OpID, bts clock.Timestamp, b OpID) bool {
	if c := ats.Compare(bts); c != 0 {
		return c < 0
	}
	if a.Replica != b.Replica {
		return a.Replica < b.Replica
	}
	return a.Seq < b.Seq
}

// VersionVector records, per replica, the highest sequence number up to which
// every operation of that replica has been applied (contiguously). Operation
// X has been applied exactly when vv[X.Replica] >= X.Seq. A missing replica
// means 0. A VersionVector is a plain map: not safe for concurrent mutation.
type VersionVector map[clock.ReplicaID]uint64

// Covers reports whether the operation id is included in v. The zero OpID is
// always covered.
func (v VersionVector) Covers(id OpID) bool {
	return id.Seq == 0 || v[id.Replica] >= id.Seq
}

// Includes reports whether v includes every operation of o (v >= o pointwise).
func (v VersionVector) Includes(o VersionVector) bool {
	for r, s := range o {
		if v[r] < s {
			return false
		}
	}
	return true
}

// Clone returns a copy of v (nil stays nil).
func (v VersionVector) Clone() VersionVector {
	if v == nil {
		return nil
	}
	c := make(VersionVector, len(v))
	for r, s := range v {
		if s > 0 {
			c[r] = s
		}
	}
	return c
}

// Merge raises v to include o (pointwise maximum).
func (v VersionVector) Merge(o VersionVector) {
	for r, s := range o {
		if s > v[r] {
			v[r] = s
		}
	}
}

// Equal reports whether v and o include the same operations.
func (v VersionVector) Equal(o VersionVector) bool {
	return v.Includes(o) && o.Includes(v)
}

// Replicas returns the replicas with a non-zero entry, in ascending order.
func (v VersionVector) Replicas() []clock.ReplicaID {
	rs := make([]clock.ReplicaID, 0, len(v))
	for r, s := range v {
		if s > 0 {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, cmp.Compare)
	return rs
}
