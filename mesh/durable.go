package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// This file connects the Node's document to its durable store (Config.DataDir;
// see docs/durability.md, "Wiring").
//
// Invariants, all under the Node's lock:
//   - every change the document applies, local or remote, is handed to the
//     store with Write in the order it was applied; own changes in sequence
//     order, so the store's prefix durability leaves no gap in our own
//     sequence numbers on disk;
//   - durableSelf is the highest own sequence number whose Write has been
//     acknowledged; Version and ChangesSince never show a peer an own
//     operation above it, nor a gap that stands on one (a reply is capped
//     there, not filtered), and Snapshot waits for it to catch up. So an own
//     change that was not durable was never seen by anyone, and a restart
//     that reuses its sequence number contradicts nobody;
//   - once a Write fails, the document fails closed: nothing more is
//     written, and the Node stops acknowledging updates.

// snapshotWait bounds how long Snapshot waits, under the Node's lock, for
// own changes already written to become durable.
const snapshotWait = 10 * time.Second

// replayChunkBytes is the change data read from the store per step when a
// Node restores its document.
const replayChunkBytes = 4 << 20

// pendingWrite is one Write whose Ack has not been seen yet.
type pendingWrite struct {
	end uint64 // the own change's End, or 0 for a remote batch
	ack *store.Ack
}

// durableDocument is the LocalDocument of a Node with a data directory: a
// crdtDocument whose applied changes are written to a store.Store. Like the
// crdtDocument it is not safe for concurrent use; the Node serialises calls.
type durableDocument struct {
	inner *crdtDocument
	self  clock.ReplicaID
	clk   *clock.Clock
	st    store.Store
	// onFail is told, once, why the store failed (under the Node's lock).
	onFail func(error)

	acks        []pendingWrite // in Write order
	durableSelf uint64
	quarantined int // size of the quarantine set last written
	failed      error
	writeErrors uint64
}

var (
	_ LocalDocument = (*durableDocument)(nil)
	_ VersionReader = (*durableDocument)(nil)
)

// openDurable opens the store in cfg.DataDir and restores the document from
// it: the snapshot, then the log's changes after it, then the quarantined
// changes. It refuses (and leaves the directory untouched) when the store
// does, when the stored replica id differs from a non-zero cfg.Replica, and
// when the stored changes do not replay to the stored version.
func openDurable(ctx context.Context, cfg Config) (*durableDocument, error) {
	fp := cfg.Strategies.Fingerprint()
	sc := store.DefaultConfig(cfg.DataDir)
	sc.MeshID, sc.Fingerprint, sc.NoSync = cfg.MeshID, fp[:], cfg.NoSync
	st, err := store.Open(sc)
	if err != nil {
		return nil, fmt.Errorf("mesh: refusing to start on data directory %s: %w", cfg.DataDir, err)
	}
	d, err := restore(ctx, cfg, st)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return d, nil
}

// restore builds the document from what st holds.
func restore(ctx context.Context, cfg Config, st store.Store) (*durableDocument, error) {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("mesh: refusing to start on data directory %s: %w: %s", cfg.DataDir, store.ErrCorrupt, fmt.Sprintf(format, args...))
	}
	state, err := st.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("mesh: refusing to start on data directory %s: %w", cfg.DataDir, err)
	}
	if cfg.Replica != 0 && cfg.Replica != state.Replica {
		return nil, fmt.Errorf("%w: Replica %s differs from the id %s stored in %s (the store owns the id; leave Replica 0)",
			ErrConfig, cfg.Replica, state.Replica, cfg.DataDir)
	}
	clk, err := clock.New(clock.Config{Replica: state.Replica, Physical: cfg.Physical, MaxDrift: cfg.MaxDrift, Resume: state.Clock})
	if err != nil {
		return nil, refuse("stored clock bound %s: %v", state.Clock, err)
	}
	dc := crdt.DefaultConfig(state.Replica, clk)
	dc.Strategies = cfg.Strategies
	var doc *crdt.Doc
	if state.Snapshot.Data != nil {
		// crdt's bulk restore into an empty document.
		if doc, err = crdt.Restore(dc, state.Snapshot.Data); err != nil {
			return nil, refuse("snapshot: %v", err)
		}
	} else if doc, err = crdt.New(dc); err != nil {
		return nil, fmt.Errorf("%w: document: %w", ErrConfig, err)
	}
	if err := replay(ctx, st, doc, VersionVector(state.Snapshot.Version)); err != nil {
		return nil, refuse("%v", err)
	}
	// Changes the pending buffer could not hold (a log whose changes depend
	// on each other across replicas beyond its bound) are offered again,
	// from what the document has, until a pass makes no progress. Changes
	// quarantined on the way (stored changes more than MaxDrift ahead of
	// physical time: the clock was set back) count as held: they apply
	// once time catches up, and stay in the log meanwhile.
	for v := held(doc); !v.Covers(VersionVector(state.Version)); {
		if err := replay(ctx, st, doc, v); err != nil {
			return nil, refuse("%v", err)
		}
		next := held(doc)
		if v.Covers(next) {
			return nil, refuse("the log does not replay to the stored version: have %v, stored %v (%d changes waiting for dependencies)",
				next, VersionVector(state.Version), doc.PendingLen())
		}
		v = next
	}
	q, err := decodeStored(state.Quarantine)
	if err != nil {
		return nil, refuse("quarantine: %v", err)
	}
	if _, err := doc.Apply(q...); err != nil {
		return nil, refuse("quarantine: %v", err)
	}
	d := &durableDocument{
		inner:       &crdtDocument{doc: doc, fingerprint: cfg.Strategies.Fingerprint()},
		self:        state.Replica,
		clk:         clk,
		st:          st,
		onFail:      func(error) {},
		durableSelf: doc.Version()[state.Replica],
		quarantined: len(state.Quarantine),
	}
	// Quarantined changes that physical time has caught up with were applied
	// just now: write them to the log.
	d.persist(VersionVector(state.Version))
	return d, nil
}

// held returns doc's version vector extended by its quarantined changes.
func held(doc *crdt.Doc) VersionVector {
	v := VersionVector(doc.Version())
	for _, c := range doc.Quarantined() {
		v[c.Replica] = max(v[c.Replica], c.EndSeq())
	}
	return v
}

// replay applies the store's changes that since does not cover, in chunks.
func replay(ctx context.Context, st store.Store, doc *crdt.Doc, since VersionVector) error {
	since = since.Clone()
	for {
		cs, more, err := st.Changes(ctx, store.VersionVector(since), replayChunkBytes)
		if err != nil {
			return err
		}
		decoded, err := decodeStored(cs)
		if err != nil {
			return err
		}
		if _, err := doc.Apply(decoded...); err != nil && !isPendingFull(err) {
			return err
		}
		for _, c := range cs {
			since[c.Replica] = max(since[c.Replica], c.End)
		}
		if !more || len(cs) == 0 {
			return nil
		}
	}
}

// isPendingFull reports the one Apply error restore retries past.
func isPendingFull(err error) bool { return errors.Is(err, crdt.ErrPendingFull) }

// decodeStored decodes stored changes, checking each header against its data.
func decodeStored(cs []store.Change) ([]*crdt.Change, error) {
	out := make([]*crdt.Change, 0, len(cs))
	for _, sc := range cs {
		c, err := crdt.DecodeChange(sc.Data)
		if err != nil {
			return nil, fmt.Errorf("change %s %d..%d: %w", sc.Replica, sc.Start, sc.End, err)
		}
		if c.Replica != sc.Replica || c.StartSeq != sc.Start || c.EndSeq() != sc.End {
			return nil, fmt.Errorf("change %s %d..%d holds %s %d..%d", sc.Replica, sc.Start, sc.End, c.Replica, c.StartSeq, c.EndSeq())
		}
		out = append(out, c)
	}
	return out, nil
}

// settle takes the completed Acks off the front of the queue (never
// blocking): own ones raise durableSelf, a failed one fails the document.
func (d *durableDocument) settle() {
	i := 0
	for ; i < len(d.acks); i++ {
		w := d.acks[i]
		select {
		case <-w.ack.Done():
		default:
			d.dropAcks(i)
			return
		}
		if err := w.ack.Wait(context.Background()); err != nil {
			d.fail(err)
			continue
		}
		if w.end > d.durableSelf && d.failed == nil {
			d.durableSelf = w.end
		}
	}
	d.dropAcks(i)
}

func (d *durableDocument) dropAcks(i int) {
	if i == 0 {
		return
	}
	n := copy(d.acks, d.acks[i:])
	clear(d.acks[n:])
	d.acks = d.acks[:n]
}

// fail records the first store failure and tells the Node.
func (d *durableDocument) fail(err error) {
	d.writeErrors++
	if d.failed != nil {
		return
	}
	d.failed = fmt.Errorf("%w: %w", ErrStorage, err)
	d.onFail(d.failed)
}

// write queues b. It waits only while the store's queue is full: a local
// write may not be abandoned half way (the change is already applied in
// memory, and skipping it would leave a gap in our sequence on disk).
// A closed store (the Node is closing) is ErrClosed, not a failure.
func (d *durableDocument) write(b store.Batch, end uint64) (*store.Ack, error) {
	if d.failed != nil {
		return nil, d.failed
	}
	ack, err := d.st.Write(context.Background(), b)
	switch {
	case errors.Is(err, store.ErrClosed):
		return nil, ErrClosed
	case err != nil:
		d.fail(err)
		return nil, d.failed
	}
	d.acks = append(d.acks, pendingWrite{end: end, ack: ack})
	return ack, nil
}

// writeLocal writes the own change ch (already applied) with the clock
// bound, and returns its Ack.
func (d *durableDocument) writeLocal(ch Change) (*store.Ack, error) {
	d.settle()
	return d.write(store.Batch{Changes: []store.Change{store.Change(ch)}, Clock: d.clk.Last()}, ch.End)
}

// persist writes, without waiting, what the document applied beyond old
// (remote changes, including pending ones released) and the quarantine set
// if its size changed.
//
// given are the changes just handed to Apply, if any: a change applied or
// quarantined with the same header is stored with their bytes rather than
// encoded again (Apply checked that the header matches the data).
func (d *durableDocument) persist(old VersionVector, given ...Change) {
	var raw map[changeHeader][]byte
	if len(given) > 0 {
		raw = make(map[changeHeader][]byte, len(given))
		for _, c := range given {
			raw[changeHeader{c.Replica, c.Start, c.End}] = c.Data
		}
	}
	encode := func(c *crdt.Change) store.Change {
		if b, ok := raw[changeHeader{c.Replica, c.StartSeq, c.EndSeq()}]; ok {
			return store.Change{Replica: c.Replica, Start: c.StartSeq, End: c.EndSeq(), Data: b}
		}
		return store.Change(meshChange(c))
	}
	b := store.Batch{Clock: d.clk.Last()}
	if !old.Covers(d.inner.Version()) {
		// The log as kept, not a reply: a reply leaves out a gap received
		// whose overwriting write waits in the pending buffer, and that gap
		// would then never be stored (a hole in the log after a restart).
		cs := d.inner.doc.LoggedSince(crdt.VersionVector(old))
		b.Changes = make([]store.Change, len(cs))
		for i, c := range cs {
			b.Changes[i] = encode(c)
		}
	}
	if d.inner.doc.QuarantinedLen() != d.quarantined {
		q := d.inner.doc.Quarantined()
		d.quarantined = len(q)
		b.SetQuarantine = true
		b.Quarantine = make([]store.Change, len(q))
		for i, c := range q {
			b.Quarantine[i] = encode(c)
		}
	}
	if len(b.Changes) > 0 || b.SetQuarantine {
		_, _ = d.write(b, 0) // a failure is recorded and fails the Node
	}
}

// changeHeader identifies a change batch.
type changeHeader struct {
	replica    clock.ReplicaID
	start, end uint64
}

// undurable returns how many own operations are applied but not yet durable.
func (d *durableDocument) undurable() uint64 {
	return d.inner.doc.VersionOf(d.self) - d.durableSelf
}

// Version implements Document: the document's version, with our own
// sequence number no higher than what is durable.
func (d *durableDocument) Version() VersionVector {
	d.settle()
	v := d.inner.Version()
	if v[d.self] > d.durableSelf {
		v[d.self] = d.durableSelf
		if d.durableSelf == 0 {
			delete(v, d.self)
		}
	}
	return v
}

// VersionOf implements VersionReader: Version()[r] without the copy.
func (d *durableDocument) VersionOf(r clock.ReplicaID) uint64 {
	if r != d.self {
		return d.inner.doc.VersionOf(r)
	}
	d.settle()
	return min(d.inner.doc.VersionOf(r), d.durableSelf)
}

// Apply implements Document and writes what was applied.
func (d *durableDocument) Apply(changes []Change) (Applied, error) {
	d.settle()
	old := d.inner.Version()
	a, err := d.inner.Apply(changes)
	d.persist(old, changes...)
	return a, err
}

// ChangesSince implements Document, leaving out own changes that are not
// durable yet. The reply is capped at the durable seq for our replica
// (crdt's EncodedChangesBetween) rather than filtered afterwards: a reply
// may send a run of our writes as a gap that stands on a later write, and
// dropping that write when it is not durable would leave the peer with
// the gap and no overwriter, which a crash could lose for good. Capped, a
// write overwritten only past the durable seq goes whole.
func (d *durableDocument) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	d.settle()
	upTo := crdt.VersionVector{d.self: d.durableSelf}
	ecs, err := d.inner.doc.EncodedChangesBetween(crdt.VersionVector(v), upTo, maxBytes)
	if err != nil {
		// Below the log's floor: the core answers with a snapshot.
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

// Snapshot implements Document. It first waits (briefly, under the Node's
// lock) for our changes already written to become durable, because a
// snapshot carries everything the document holds.
func (d *durableDocument) Snapshot() ([]byte, VersionVector, error) {
	if n := len(d.acks); n > 0 {
		t := time.NewTimer(snapshotWait)
		select {
		case <-d.acks[n-1].ack.Done():
		case <-t.C:
		}
		t.Stop()
	}
	d.settle()
	if d.failed != nil {
		return nil, nil, d.failed
	}
	if d.undurable() > 0 {
		return nil, nil, fmt.Errorf("mesh: snapshot deferred: %d own operations not durable after %v", d.undurable(), snapshotWait)
	}
	return d.inner.Snapshot()
}

// MergeSnapshot implements Document. What a snapshot brings is not in the
// log, so when it moved the version the merged state is stored as the new
// snapshot (the compaction floor stays where it was).
func (d *durableDocument) MergeSnapshot(data []byte) (Applied, error) {
	d.settle()
	old := d.inner.Version()
	a, err := d.inner.MergeSnapshot(data)
	if old.Covers(d.inner.Version()) || d.failed != nil {
		d.persist(old) // the quarantine may still have changed
		return a, err
	}
	snap, v, serr := d.inner.Snapshot()
	if serr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), snapshotWait)
		serr = d.st.Compact(ctx, store.Snapshot{Data: snap, Version: store.VersionVector(v)})
		cancel()
	}
	if serr != nil {
		d.fail(fmt.Errorf("storing a merged snapshot: %w", serr))
	}
	d.persist(d.inner.Version()) // only the quarantine set
	return a, err
}

// RetryQuarantined implements Document and writes what was released.
func (d *durableDocument) RetryQuarantined() (Applied, error) {
	d.settle()
	old := d.inner.Version()
	a, err := d.inner.RetryQuarantined()
	d.persist(old)
	return a, err
}

// Fingerprint implements Document.
func (d *durableDocument) Fingerprint() []byte { return d.inner.Fingerprint() }

// Update implements LocalDocument. The Node writes the change (writeLocal).
func (d *durableDocument) Update(recipe func(*draft.Draft) error) (Change, Applied, error) {
	if d.failed != nil {
		return Change{}, Applied{}, d.failed
	}
	return d.inner.Update(recipe)
}

// State implements LocalDocument.
func (d *durableDocument) State() draft.Value { return d.inner.State() }

// Conflicts returns the live concurrent values at path, or nil.
func (d *durableDocument) Conflicts(path draft.Path) []crdt.Conflict { return d.inner.Conflicts(path) }
