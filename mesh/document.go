package mesh

import (
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// Document is what the protocol core needs from the replicated document. The
// crdt adapter implements it over *crdt.Doc; tests use an in-memory fake.
//
// The core calls these methods from one goroutine at a time (the Node holds a
// lock around the core and the document), so implementations need not be
// safe for concurrent use on the core's behalf. None may block on I/O.
//
// Byte slices passed in are owned by the document from then on (the core never
// touches them again); byte slices returned are owned by the core, which will
// not modify them but may hand them to the network after the call returns.
//
// Seven methods is more than the usual five: they are the document's whole
// replication surface, and splitting them would only make every caller hold
// several interfaces to one object.
type Document interface {
	// Version returns a copy of the document's version vector: for each
	// replica, the highest sequence number applied contiguously from 1.
	Version() VersionVector
	// Apply applies remote changes in any order, with duplicates and
	// overlaps. Changes not yet causally ready are held in the document's
	// bounded pending buffer; changes too far in the future are
	// quarantined. An error reports changes that could not be taken at all
	// (undecodable data, pending buffer full); the rest are still applied,
	// and anything refused is asked for again by anti-entropy because the
	// version vector did not advance. The slice itself is the core's,
	// valid only during the call (the core reuses its array); the
	// changes' Data are the document's.
	Apply(changes []Change) (Applied, error)
	// ChangesSince returns changes that v does not cover, totalling at most
	// maxBytes of Data, except that it returns at least one change when any
	// is missing, however large. Changes come in an order in which each
	// replica's changes ascend. more reports that changes were left out. An
	// error wrapping ErrCompacted means the log no longer reaches back to v.
	// v is read-only: it may be a received message's vector.
	ChangesSince(v VersionVector, maxBytes int) (changes []Change, more bool, err error)
	// Snapshot returns the whole document state and the version it covers.
	Snapshot() (data []byte, v VersionVector, err error)
	// MergeSnapshot merges a snapshot taken by Snapshot on any replica.
	MergeSnapshot(data []byte) (Applied, error)
	// RetryQuarantined applies quarantined changes whose timestamps
	// physical time has caught up with. The core calls it on every tick.
	RetryQuarantined() (Applied, error)
	// Fingerprint identifies the document's merge rules (the crdt strategy
	// table). Nodes with different fingerprints must not exchange changes;
	// the Node refuses them at join time.
	Fingerprint() []byte
}

// VersionReader is an optional fast path for Document: the sequence number
// of one replica without copying the whole version vector. The core uses it
// on every gossiped change when the document implements it.
type VersionReader interface {
	VersionOf(r clock.ReplicaID) uint64
}

// VersionViewer is an optional fast path for Document: the version vector
// lent, not copied. The core uses it to answer a digest, which only reads
// the vector (and copies it when it sends it back). A simulation answers
// hundreds of thousands of digests; a copy of a 100-entry vector each was
// 1.2 % of its time.
type VersionViewer interface {
	// VersionView returns the version vector itself. The caller must
	// not modify it, nor keep it past its next call into the document.
	VersionView() VersionVector
}

// Applied reports what one Document call did. It is a plain value; the
// Patches slice must not be modified by anyone once returned.
type Applied struct {
	// Changes is the number of change batches newly applied, including
	// previously pending or quarantined ones that became ready.
	Changes int
	// Pending is the number of changes held in the pending buffer after the
	// call, waiting for their causal dependencies.
	Pending int
	// Quarantined is the number of changes held in quarantine after the
	// call, waiting for physical time to catch up with their timestamps.
	Quarantined int
	// NewestMillis is the largest hybrid-clock wall time (milliseconds since
	// the Unix epoch) among the newly applied changes, or 0 if unknown. The
	// Node uses it for the convergence-lag metric.
	NewestMillis int64
	// Patches describe the visible change, handed to watchers unchanged.
	// Empty when nothing visible changed.
	Patches []draft.Patch
}
