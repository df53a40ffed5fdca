package crdtdoc

import (
	"errors"
	"fmt"
	"sync"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// ErrNoSnapshotMerge is returned by MergeSnapshot: the crdt package cannot
// merge snapshots yet.
var ErrNoSnapshotMerge = errors.New("crdtdoc: snapshot merge not supported yet")

// Config configures a Doc.
type Config struct {
	// Replica is the document's replica id. Required, non-zero, unique in
	// the mesh: a node without persistent storage takes a fresh random one
	// on every start so it never reuses another run's sequence numbers.
	Replica clock.ReplicaID
	// Physical is the wall clock for the hybrid logical clock. Default
	// clock.System().
	Physical clock.Physical
	// Strategies is the conflict strategy table. Default nil: every path is
	// last-writer-wins. Every node of a mesh must use an equal table.
	Strategies *crdt.Strategies
}

// Doc is a mesh.LocalDocument over a *crdt.Doc. It is safe for concurrent
// use: every method holds one mutex.
type Doc struct {
	mu    sync.Mutex
	doc   *crdt.Doc
	strat *crdt.Strategies
	fp    []byte
}

var (
	_ mesh.LocalDocument = (*Doc)(nil)
	_ mesh.VersionReader = (*Doc)(nil)
)

// New returns an empty document.
func New(cfg Config) (*Doc, error) {
	if cfg.Replica == 0 {
		return nil, errors.New("crdtdoc: Replica is zero")
	}
	ccfg := clock.DefaultConfig(cfg.Replica)
	ccfg.Physical = cfg.Physical
	clk, err := clock.New(ccfg)
	if err != nil {
		return nil, fmt.Errorf("crdtdoc: %w", err)
	}
	dcfg := crdt.DefaultConfig(cfg.Replica, clk)
	dcfg.Strategies = cfg.Strategies
	d, err := crdt.New(dcfg)
	if err != nil {
		return nil, fmt.Errorf("crdtdoc: %w", err)
	}
	st := cfg.Strategies
	if st == nil {
		st = crdt.NewStrategies()
	}
	fp := st.Fingerprint()
	return &Doc{doc: d, strat: st, fp: fp[:]}, nil
}

// Replica returns the document's replica id.
func (d *Doc) Replica() clock.ReplicaID { return d.doc.Replica() }

// Strategies returns the strategy table (never nil). It must not be changed.
func (d *Doc) Strategies() *crdt.Strategies { return d.strat }

// Version implements mesh.Document.
func (d *Doc) Version() mesh.VersionVector {
	d.mu.Lock()
	defer d.mu.Unlock()
	return mesh.VersionVector(d.doc.Version())
}

// VersionOf implements mesh.VersionReader.
func (d *Doc) VersionOf(r clock.ReplicaID) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc.Version()[r]
}

// State implements mesh.LocalDocument.
func (d *Doc) State() draft.Value {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc.State()
}

// Conflicts returns the concurrent values of the register at path (nil when
// there is no conflict or no value there).
func (d *Doc) Conflicts(path draft.Path) []crdt.Conflict {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc.Conflicts(path)
}

// Update implements mesh.LocalDocument.
func (d *Doc) Update(recipe func(*draft.Draft) error) (mesh.Change, mesh.Applied, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	before := d.doc.State()
	c, err := d.doc.Update(recipe)
	if err != nil || c == nil {
		return mesh.Change{}, mesh.Applied{}, err
	}
	patches, _ := draft.Diff(before, d.doc.State())
	return toMesh(c), mesh.Applied{Changes: 1, NewestMillis: c.Timestamp.Wall, Patches: patches,
		Pending: d.doc.PendingLen(), Quarantined: len(d.doc.Quarantined())}, nil
}

func toMesh(c *crdt.Change) mesh.Change {
	return mesh.Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: crdt.EncodeChange(c)}
}

func (d *Doc) applied(res crdt.Result, newest int64) mesh.Applied {
	return mesh.Applied{Changes: res.Applied, Pending: d.doc.PendingLen(),
		Quarantined: len(d.doc.Quarantined()), NewestMillis: newest, Patches: res.Patches}
}

// Apply implements mesh.Document.
func (d *Doc) Apply(changes []mesh.Change) (mesh.Applied, error) {
	cs := make([]*crdt.Change, 0, len(changes))
	var firstErr error
	var newest int64
	for _, mc := range changes {
		c, err := crdt.DecodeChange(mc.Data)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("crdtdoc: change %v/%d: %w", mc.Replica, mc.Start, err)
			}
			continue
		}
		newest = max(newest, c.Timestamp.Wall)
		cs = append(cs, c)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	res, err := d.doc.Apply(cs...)
	if firstErr == nil {
		firstErr = err
	}
	if res.Applied == 0 {
		newest = 0
	}
	return d.applied(res, newest), firstErr
}

// ChangesSince implements mesh.Document.
func (d *Doc) ChangesSince(v mesh.VersionVector, maxBytes int) ([]mesh.Change, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cs := d.doc.ChangesSince(crdt.VersionVector(v), maxBytes)
	out := make([]mesh.Change, len(cs))
	covered := v.Clone()
	for i, c := range cs {
		out[i] = toMesh(c)
		covered[c.Replica] = max(covered[c.Replica], c.EndSeq())
	}
	more := !mesh.VersionVector(covered).Covers(mesh.VersionVector(d.doc.Version()))
	return out, more, nil
}

// Snapshot implements mesh.Document.
func (d *Doc) Snapshot() ([]byte, mesh.VersionVector, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.doc.Snapshot()
	return crdt.EncodeSnapshot(s), mesh.VersionVector(s.Version()), nil
}

// MergeSnapshot implements mesh.Document; it is not supported yet.
func (d *Doc) MergeSnapshot([]byte) (mesh.Applied, error) {
	return mesh.Applied{}, ErrNoSnapshotMerge
}

// RetryQuarantined implements mesh.Document.
func (d *Doc) RetryQuarantined() (mesh.Applied, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.doc.Quarantined()) == 0 {
		return mesh.Applied{}, nil
	}
	res, err := d.doc.RetryQuarantined()
	return d.applied(res, 0), err
}

// Fingerprint implements mesh.Document.
func (d *Doc) Fingerprint() []byte { return d.fp }
