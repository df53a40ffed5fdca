package mesh

import (
	"encoding/binary"
	"errors"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// nullDoc is a minimal Document for measuring mesh's own overhead: each
// change is one op whose data is 8 bytes; apply only enforces per-replica
// order (out-of-order changes wait in a bounded pending map). No state.
type nullDoc struct {
	replica clock.ReplicaID
	vv      VersionVector
	log     map[clock.ReplicaID][]Change
	pending map[clock.ReplicaID]map[uint64]Change
	npend   int
}

var _ LocalDocument = (*nullDoc)(nil)

func newNullDoc(r clock.ReplicaID) *nullDoc {
	return &nullDoc{replica: r, vv: VersionVector{}, log: map[clock.ReplicaID][]Change{},
		pending: map[clock.ReplicaID]map[uint64]Change{}}
}

func (d *nullDoc) Version() VersionVector             { return d.vv.Clone() }
func (d *nullDoc) VersionOf(r clock.ReplicaID) uint64 { return d.vv[r] }
func (d *nullDoc) Fingerprint() []byte                { return []byte("null") }
func (d *nullDoc) State() draft.Value                 { return draft.EmptyMap() }
func (d *nullDoc) RetryQuarantined() (Applied, error) { return Applied{Pending: d.npend}, nil }
func (d *nullDoc) Snapshot() ([]byte, VersionVector, error) {
	return nil, nil, errors.New("null: no snapshots")
}
func (d *nullDoc) MergeSnapshot([]byte) (Applied, error) {
	return Applied{}, errors.New("null: no snapshots")
}

func (d *nullDoc) Update(func(*draft.Draft) error) (Change, Applied, error) {
	s := d.vv[d.replica] + 1
	ch := Change{Replica: d.replica, Start: s, End: s, Data: binary.BigEndian.AppendUint64(nil, s)}
	d.vv[d.replica] = s
	d.log[d.replica] = append(d.log[d.replica], ch)
	return ch, Applied{Changes: 1}, nil
}

func (d *nullDoc) Apply(changes []Change) (Applied, error) {
	var a Applied
	for _, ch := range changes {
		if ch.End <= d.vv[ch.Replica] {
			continue
		}
		p := d.pending[ch.Replica]
		if p == nil {
			p = map[uint64]Change{}
			d.pending[ch.Replica] = p
		}
		if _, ok := p[ch.Start]; !ok && d.npend < 100_000 {
			p[ch.Start] = ch
			d.npend++
		}
		for {
			next, ok := p[d.vv[ch.Replica]+1]
			if !ok {
				break
			}
			delete(p, next.Start)
			d.npend--
			d.vv[ch.Replica] = next.End
			d.log[ch.Replica] = append(d.log[ch.Replica], next)
			a.Changes++
		}
	}
	a.Pending = d.npend
	return a, nil
}

func (d *nullDoc) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	var out []Change
	size := 0
	for _, r := range d.vv.sortedReplicas() {
		for _, ch := range d.log[r][min(v[r], uint64(len(d.log[r]))):] {
			if len(out) > 0 && size+len(ch.Data)+16 > maxBytes {
				return out, true, nil
			}
			out = append(out, ch)
			size += len(ch.Data) + 16
		}
	}
	return out, false, nil
}
