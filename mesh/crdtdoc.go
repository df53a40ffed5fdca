package mesh

import (
	"fmt"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
)

// crdtDocument adapts *crdt.Doc to LocalDocument: it encodes and decodes
// changes and snapshots with crdt's wire format and converts version
// vectors. Like the Doc, it is not safe for concurrent use (the Node and
// Core serialise calls).
type crdtDocument struct {
	doc         *crdt.Doc
	fingerprint [32]byte
}

var (
	_ LocalDocument = (*crdtDocument)(nil)
	_ VersionReader = (*crdtDocument)(nil)
)

// NewDocument returns a LocalDocument over doc, whose strategy table is
// strategies (nil: the default, every path LastWriterWins). The result owns
// doc: nothing else may use it afterwards.
func NewDocument(doc *crdt.Doc, strategies *crdt.Strategies) LocalDocument {
	return &crdtDocument{doc: doc, fingerprint: strategies.Fingerprint()}
}

// newCRDTDocument builds the document a Config asks for.
func newCRDTDocument(cfg Config) (LocalDocument, error) {
	clk, err := clock.New(clock.Config{Replica: cfg.Replica, Physical: cfg.Physical, MaxDrift: cfg.MaxDrift})
	if err != nil {
		return nil, fmt.Errorf("%w: clock: %w", ErrConfig, err)
	}
	dc := crdt.DefaultConfig(cfg.Replica, clk)
	dc.Strategies = cfg.Strategies
	doc, err := crdt.New(dc)
	if err != nil {
		return nil, fmt.Errorf("%w: document: %w", ErrConfig, err)
	}
	return NewDocument(doc, cfg.Strategies), nil
}

func meshChange(c *crdt.Change) Change {
	return Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: crdt.EncodeChange(c)}
}

// loggedChange is meshChange with the message from the document's log
// (shared and immutable) instead of a second encoding.
func (d *crdtDocument) loggedChange(c *crdt.Change) Change {
	return Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: d.doc.EncodedChange(c)}
}

func (d *crdtDocument) applied(res crdt.Result, newest int64) Applied {
	a := Applied{
		Changes:     res.Applied,
		Pending:     d.doc.PendingLen(),
		Quarantined: d.doc.QuarantinedLen(),
		Patches:     res.Patches,
	}
	if res.Applied > 0 {
		a.NewestMillis = newest
	}
	return a
}

// Version implements Document.
func (d *crdtDocument) Version() VersionVector { return VersionVector(d.doc.Version()) }

// VersionOf implements VersionReader: the core reads one replica's entry
// per gossiped change, and copying the whole vector for it was a quarter of
// the long-run benchmark's CPU.
func (d *crdtDocument) VersionOf(r clock.ReplicaID) uint64 { return d.doc.VersionOf(r) }

// Apply implements Document. A change whose header disagrees with its
// data is refused. The changes are applied from their bytes
// (crdt.Doc.ApplyEncoded): none is decoded into a Change of its own unless
// it must wait, and the document's log keeps the bytes.
func (d *crdtDocument) Apply(changes []Change) (Applied, error) {
	msgs := make([][]byte, 0, len(changes))
	var first error
	var newest int64
	for _, ch := range changes {
		ci, err := crdt.ReadChangeInfo(ch.Data)
		if err == nil && (ci.Replica != ch.Replica || ci.StartSeq != ch.Start || ci.EndSeq != ch.End) {
			err = fmt.Errorf("mesh: change header %s %d..%d disagrees with its data %s %d..%d",
				ch.Replica, ch.Start, ch.End, ci.Replica, ci.StartSeq, ci.EndSeq)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		newest = max(newest, ci.Timestamp.Wall)
		msgs = append(msgs, ch.Data)
	}
	res, err := d.doc.ApplyEncoded(msgs...)
	if first == nil {
		first = err
	}
	return d.applied(res, newest), first
}

// ChangesSince implements Document. Each change's Data is the message the
// document's log keeps (shared, never modified), or a fresh encoding.
func (d *crdtDocument) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	ecs, err := d.doc.EncodedChangesSince(crdt.VersionVector(v), maxBytes)
	if err != nil {
		// Below the log's floor (compacted, or a merged snapshot's gap):
		// the core answers with a snapshot.
		return nil, false, fmt.Errorf("%w: %w", ErrCompacted, err)
	}
	out := make([]Change, len(ecs))
	after := v.Clone()
	for i, e := range ecs {
		out[i] = Change{Replica: e.Replica, Start: e.StartSeq, End: e.EndSeq, Data: e.Data}
		after[e.Replica] = max(after[e.Replica], e.EndSeq)
	}
	return out, !after.Covers(d.Version()), nil
}

// Snapshot implements Document.
func (d *crdtDocument) Snapshot() ([]byte, VersionVector, error) {
	s := d.doc.Snapshot()
	return crdt.EncodeSnapshot(s), VersionVector(s.Version()), nil
}

// MergeSnapshot implements Document.
func (d *crdtDocument) MergeSnapshot(data []byte) (Applied, error) {
	s, err := crdt.DecodeSnapshot(data)
	if err != nil {
		return d.applied(crdt.Result{}, 0), err
	}
	res, err := d.doc.MergeSnapshot(s)
	return d.applied(res, 0), err
}

// RetryQuarantined implements Document.
func (d *crdtDocument) RetryQuarantined() (Applied, error) {
	res, err := d.doc.RetryQuarantined()
	return d.applied(res, 0), err
}

// Fingerprint implements Document: the strategy table's fingerprint.
func (d *crdtDocument) Fingerprint() []byte { return d.fingerprint[:] }

// Update implements LocalDocument. The recipe runs once, on a draft of the
// state, inside the document (one pass: no second Produce or re-applied
// patches); its patches are what watchers see for a local change.
func (d *crdtDocument) Update(recipe func(*draft.Draft) error) (Change, Applied, error) {
	c, patches, err := d.doc.Produce(recipe)
	if err != nil || c == nil || len(patches) == 0 {
		return Change{}, Applied{}, err
	}
	return d.loggedChange(c), Applied{Changes: 1, Patches: patches}, nil
}

// State implements LocalDocument.
func (d *crdtDocument) State() draft.Value { return d.doc.State() }

// Conflicts returns the live concurrent values at path, or nil.
func (d *crdtDocument) Conflicts(path draft.Path) []crdt.Conflict { return d.doc.Conflicts(path) }
