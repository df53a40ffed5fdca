package mesh

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// fakeDoc is an in-memory Document for tests: a last-writer-wins string map
// whose changes are JSON. It keeps the real document's delivery rules that
// the protocol depends on: per-replica contiguous version vectors, causal
// dependencies on other replicas (held in a bounded pending buffer),
// quarantine of changes from the future, idempotent and commutative apply,
// a log for ChangesSince and snapshots that carry the log.
type fakeDoc struct {
	replica    clock.ReplicaID
	lamport    uint64
	now        func() int64 // physical time for quarantine, ms
	maxPending int

	vv          VersionVector
	log         map[clock.ReplicaID][]Change // applied changes by replica, ascending
	pending     []Change
	quarantine  []Change
	state       map[string]fakeEntry
	floor       VersionVector // ChangesSince below this returns ErrCompacted
	refuseApply bool
}

type fakeEntry struct {
	Value   string
	Lamport uint64
	Replica clock.ReplicaID
}

// fakeBody is the JSON in a fake change's Data.
type fakeBody struct {
	Lamport uint64
	Wall    int64 // for quarantine: changes with Wall > now are held
	Deps    map[clock.ReplicaID]uint64
	Sets    [][2]string
	Pad     string
}

var _ LocalDocument = (*fakeDoc)(nil)
var _ VersionReader = (*fakeDoc)(nil)

func newFakeDoc(r clock.ReplicaID, now func() int64) *fakeDoc {
	return &fakeDoc{replica: r, now: now, maxPending: 10_000,
		vv: VersionVector{}, log: map[clock.ReplicaID][]Change{}, state: map[string]fakeEntry{}}
}

// update makes a local change setting the given key/value pairs; pad adds
// filler bytes to make a large change; wall stamps it (0 = now).
func (d *fakeDoc) update(pad int, wall int64, kv ...string) Change {
	body := fakeBody{Lamport: d.lamport + 1, Wall: wall, Deps: maps.Clone(d.vv), Pad: strings.Repeat("p", pad)}
	if body.Wall == 0 {
		body.Wall = d.now()
	}
	for i := 0; i+1 < len(kv); i += 2 {
		body.Sets = append(body.Sets, [2]string{kv[i], kv[i+1]})
	}
	delete(body.Deps, d.replica)
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	n := uint64(max(1, len(body.Sets)))
	ch := Change{Replica: d.replica, Start: d.vv[d.replica] + 1, End: d.vv[d.replica] + n, Data: data}
	d.integrate(ch, body)
	return ch
}

func (d *fakeDoc) VersionOf(r clock.ReplicaID) uint64 { return d.vv[r] }

func (d *fakeDoc) Version() VersionVector { return d.vv.Clone() }

func (d *fakeDoc) Fingerprint() []byte { return []byte("fake-lww-v1") }

func (d *fakeDoc) status(a *Applied) {
	a.Pending, a.Quarantined = len(d.pending), len(d.quarantine)
}

func (d *fakeDoc) Apply(changes []Change) (Applied, error) {
	var a Applied
	var errs []error
	if d.refuseApply {
		d.status(&a)
		return a, errors.New("fake: refusing")
	}
	for _, ch := range changes {
		var body fakeBody
		if err := json.Unmarshal(ch.Data, &body); err != nil {
			errs = append(errs, fmt.Errorf("fake: change data: %w", err))
			continue
		}
		if ch.End <= d.vv[ch.Replica] {
			continue
		}
		if body.Wall > d.now() {
			d.quarantine = append(d.quarantine, ch)
			continue
		}
		if len(d.pending) >= d.maxPending {
			errs = append(errs, errors.New("fake: pending buffer full"))
			continue
		}
		d.pending = append(d.pending, ch)
	}
	d.drain(&a)
	d.status(&a)
	return a, errors.Join(errs...)
}

// drain applies every pending change that is ready, until none is.
func (d *fakeDoc) drain(a *Applied) {
	for progress := true; progress; {
		progress = false
		keep := d.pending[:0]
		for _, ch := range d.pending {
			var body fakeBody
			_ = json.Unmarshal(ch.Data, &body)
			switch {
			case ch.End <= d.vv[ch.Replica]:
				// Covered meanwhile: drop.
			case d.vv[ch.Replica] >= ch.Start-1 && d.vv.Covers(body.Deps):
				a.Patches = append(a.Patches, d.integrate(ch, body)...)
				a.Changes++
				a.NewestMillis = max(a.NewestMillis, body.Wall)
				progress = true
			default:
				keep = append(keep, ch)
			}
		}
		d.pending = keep
	}
}

// integrate applies a ready change: LWW by (lamport, replica). It returns
// the visible changes as patches.
func (d *fakeDoc) integrate(ch Change, body fakeBody) []draft.Patch {
	d.lamport = max(d.lamport, body.Lamport)
	var patches []draft.Patch
	for _, kv := range body.Sets {
		e := fakeEntry{Value: kv[1], Lamport: body.Lamport, Replica: ch.Replica}
		old, ok := d.state[kv[0]]
		if !ok || old.Lamport < e.Lamport || (old.Lamport == e.Lamport && old.Replica < e.Replica) {
			d.state[kv[0]] = e
			op := draft.OpReplace
			if !ok {
				op = draft.OpAdd
			}
			patches = append(patches, draft.Patch{Op: op, Path: draft.P(kv[0]), Value: draft.String(kv[1])})
		}
	}
	d.vv[ch.Replica] = ch.End
	d.log[ch.Replica] = append(d.log[ch.Replica], ch)
	return patches
}

// Update implements LocalDocument: the recipe may only set top-level
// string values.
func (d *fakeDoc) Update(recipe func(*draft.Draft) error) (Change, Applied, error) {
	_, patches, _, err := draft.Produce(d.State(), recipe)
	if err != nil || len(patches) == 0 {
		return Change{}, Applied{}, err
	}
	var kv []string
	for _, p := range patches {
		s, ok := p.Value.AsString()
		if len(p.Path) != 1 || !ok || (p.Op != draft.OpAdd && p.Op != draft.OpReplace) {
			return Change{}, Applied{}, fmt.Errorf("fake: unsupported patch %v", p)
		}
		kv = append(kv, p.Path[0].Token(), s)
	}
	ch := d.update(0, 0, kv...)
	return ch, Applied{Changes: 1, Patches: patches}, nil
}

// State implements LocalDocument.
func (d *fakeDoc) State() draft.Value {
	m := make(map[string]draft.Value, len(d.state))
	for k, e := range d.state {
		m[k] = draft.String(e.Value)
	}
	return draft.MapOf(m)
}

func (d *fakeDoc) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	var out []Change
	size := 0
	for _, r := range d.vv.sortedReplicas() {
		if v[r] >= d.vv[r] {
			continue
		}
		if d.floor[r] > v[r] {
			return nil, false, fmt.Errorf("fake: %s below floor: %w", r, ErrCompacted)
		}
		for _, ch := range d.log[r] {
			if ch.End <= v[r] {
				continue
			}
			if len(out) > 0 && size+len(ch.Data) > maxBytes {
				return out, true, nil
			}
			out = append(out, ch)
			size += len(ch.Data)
		}
	}
	return out, false, nil
}

// fakeSnapshot is the fake's snapshot: its whole log.
type fakeSnapshot struct {
	Log []Change
}

func (d *fakeDoc) Snapshot() ([]byte, VersionVector, error) {
	var s fakeSnapshot
	for _, r := range d.vv.sortedReplicas() {
		s.Log = append(s.Log, d.log[r]...)
	}
	b, err := json.Marshal(s)
	return b, d.vv.Clone(), err
}

func (d *fakeDoc) MergeSnapshot(data []byte) (Applied, error) {
	var s fakeSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		var a Applied
		d.status(&a)
		return a, fmt.Errorf("fake: snapshot: %w", err)
	}
	// Snapshot contents skip the quarantine check: the sender applied them.
	var a Applied
	for _, ch := range s.Log {
		if ch.End > d.vv[ch.Replica] {
			d.pending = append(d.pending, ch)
		}
	}
	d.drain(&a)
	d.status(&a)
	return a, nil
}

func (d *fakeDoc) RetryQuarantined() (Applied, error) {
	var a Applied
	if len(d.quarantine) > 0 {
		q := d.quarantine
		d.quarantine = nil
		var err error
		a, err = d.Apply(q)
		if err != nil {
			return a, err
		}
	}
	d.status(&a)
	return a, nil
}

// digest is a comparable summary of the visible state and version.
func (d *fakeDoc) digest() string {
	keys := slices.Sorted(maps.Keys(d.state))
	var b strings.Builder
	for _, r := range d.vv.sortedReplicas() {
		fmt.Fprintf(&b, "%s:%d ", r, d.vv[r])
	}
	b.WriteString("|")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, d.state[k].Value)
	}
	return b.String()
}
