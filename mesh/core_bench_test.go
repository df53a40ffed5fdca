package mesh

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// BenchmarkManyCores measures the protocol core's own CPU per delivered
// message the way the simulator uses it: thousands of Cores driven from
// one loop, each over a document that costs next to nothing (denseDoc),
// so that each call finds its core's state out of cache, as at 10,000
// simulated nodes. One op is one write spread to every core: gossiped on
// the fast path while budgets last, then announced and fetched, with
// ticks (and their anti-entropy digests) in between. It reports ns/msg
// (per delivered message) and outhash, a hash of every output's
// destination, type and size: a change to the core's CPU cost must leave
// it unchanged.
//
//	go test ./mesh -run '^$' -bench ManyCores -benchtime 400x
func BenchmarkManyCores(b *testing.B) {
	for _, n := range []int{2000} {
		b.Run("cores="+strconv.Itoa(n), func(b *testing.B) {
			benchManyCores(b, n, 100)
		})
	}
}

func benchManyCores(b *testing.B, n, writers int) {
	b.ReportAllocs()
	d := newManyDriver(n, 7)
	// Warm up: every writer's first change everywhere, so the cores'
	// per-replica tables exist before timing.
	for w := range writers {
		d.write(w % n)
	}
	d.msgs = 0
	b.ResetTimer()
	for i := range b.N {
		d.write((i * 97) % writers)
	}
	b.StopTimer()
	if d.msgs > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(d.msgs), "ns/msg")
	}
	b.ReportMetric(float64(d.hash.Sum32()), "outhash")
	b.Logf("%v", d.types)
}

// gossipBudget is the cores' GossipBytesPerSecond: a budget of 8 small
// changes a second against 50 writes a second, so most cores announce
// what they apply and the others fetch it, as most do in the 10,000-node
// simulation (its stream messages outnumber its gossip packets).
const gossipBudget = 1024

// manyDriver drives many Cores in virtual time: a FIFO of deliveries,
// broadcasts to three random cores each, sends to their addressee.
type manyDriver struct {
	cores  []*Core
	docs   []*denseDoc
	byName map[string]int
	reps   *denseReplicas
	rng    *rand.Rand
	pool   *OutputPool
	now    int64
	queue  []delivery
	msgs   int
	hash   hash.Hash32
	buf    []Received
	types  [typeLimit]int
}

type delivery struct {
	to   int
	msg  Message
	size int
}

func newManyDriver(n int, seed uint64) *manyDriver {
	d := &manyDriver{byName: map[string]int{}, reps: &denseReplicas{ids: map[clock.ReplicaID]int32{}},
		rng: rand.New(rand.NewPCG(seed, seed+1)), pool: &OutputPool{SizesOnly: true}}
	d.hash = fnv.New32a()
	for i := range n {
		name := "node-" + strconv.Itoa(i)
		doc := &denseDoc{replica: clock.ReplicaID(uint64(i+1) * 0x9e3779b97f4a7c15), reps: d.reps, vv: VersionVector{}}
		c, err := NewCore(CoreConfig{Name: name, Seed: uint64(i), Outputs: d.pool, GossipBytesPerSecond: gossipBudget}, doc)
		if err != nil {
			panic(err)
		}
		d.cores, d.docs = append(d.cores, c), append(d.docs, doc)
		d.byName[name] = i
	}
	for i, c := range d.cores {
		for range 20 {
			c.PeerUp("node-" + strconv.Itoa(d.rng.IntN(n)))
		}
		d.handle(i, c.Tick(0))
	}
	d.drain()
	return d
}

// write makes a change on core w, spreads it until nothing is in flight
// and moves time on by 20 ms, ticking every core.
func (d *manyDriver) write(w int) {
	ch := d.docs[w].local()
	d.handle(w, d.cores[w].Local(ch))
	d.drain()
	d.now += 20
	for i, c := range d.cores {
		d.handle(i, c.Tick(d.now))
	}
	d.drain()
}

func (d *manyDriver) drain() {
	for len(d.queue) > 0 {
		e := d.queue[0]
		d.queue = d.queue[1:]
		if covered(d.docs[e.to], e.msg) {
			// As the simulator does: the core would only count a
			// duplicate.
			d.cores[e.to].Advance(d.now)
			continue
		}
		d.msgs++
		d.types[e.msg.Type()]++
		msgs := append(d.buf[:0], Received{Msg: e.msg, Size: e.size})
		out, _ := d.cores[e.to].ReceiveDecoded(d.now, msgs)
		d.buf = msgs[:0]
		d.handle(e.to, out)
	}
	d.queue = d.queue[:0]
}

func (d *manyDriver) handle(from int, out Output) {
	var b [9]byte
	for _, bc := range out.Broadcasts {
		for range 3 {
			to := d.rng.IntN(len(d.cores))
			if to != from {
				d.queue = append(d.queue, delivery{to: to, msg: bc.Message, size: len(bc.Msg)})
			}
		}
		b[0] = byte(bc.Message.Type())
		binary.LittleEndian.PutUint64(b[1:], uint64(len(bc.Msg)))
		_, _ = d.hash.Write(b[:])
	}
	for _, s := range out.Sends {
		to := d.byName[s.To]
		d.queue = append(d.queue, delivery{to: to, msg: s.Message, size: s.Size})
		b[0] = byte(s.Message.Type())
		binary.LittleEndian.PutUint64(b[1:], uint64(s.Size)<<32|uint64(to))
		_, _ = d.hash.Write(b[:])
	}
	d.pool.Put(out)
}

// covered reports whether doc covers a gossiped change or announcement.
func covered(doc *denseDoc, m Message) bool {
	switch m := m.(type) {
	case *ChangeMsg:
		return m.Change.End <= doc.VersionOf(m.Change.Replica)
	case *AnnounceMsg:
		return m.Seq <= doc.VersionOf(m.Replica)
	}
	return false
}

// denseReplicas numbers replicas densely for every denseDoc of a driver:
// one small map shared by all, hot in cache, as in the simulator.
type denseReplicas struct {
	ids map[clock.ReplicaID]int32
	log [][]Change // every change of each replica, by number
}

func (r *denseReplicas) of(id clock.ReplicaID) int32 {
	i, ok := r.ids[id]
	if !ok {
		i = int32(len(r.ids))
		r.ids[id] = i
		r.log = append(r.log, nil)
	}
	return i
}

// denseDoc is a Document whose state is only its version: in-order
// changes advance it, others are dropped (the driver delivers in order
// enough for the benchmark; anti-entropy repairs the rest). Its version
// lives in a slice by shared replica number, with the map form rebuilt
// when asked for, so the document's share of a core call is small.
type denseDoc struct {
	replica clock.ReplicaID
	reps    *denseReplicas
	dense   []uint64
	vv      VersionVector
	stale   bool
}

var (
	_ VersionReader = (*denseDoc)(nil)
	_ VersionViewer = (*denseDoc)(nil)
)

func (d *denseDoc) set(r clock.ReplicaID, seq uint64) {
	i := int(d.reps.of(r))
	if i >= len(d.dense) {
		d.dense = append(d.dense, make([]uint64, i+1-len(d.dense))...)
	}
	d.dense[i], d.stale = seq, true
}

func (d *denseDoc) local() Change {
	s := d.VersionOf(d.replica) + 1
	ch := Change{Replica: d.replica, Start: s, End: s, Data: binary.BigEndian.AppendUint64(make([]byte, 0, 48), s)[:48]}
	i := d.reps.of(d.replica)
	d.reps.log[i] = append(d.reps.log[i], ch)
	d.set(d.replica, s)
	return ch
}

func (d *denseDoc) VersionOf(r clock.ReplicaID) uint64 {
	if i, ok := d.reps.ids[r]; ok && int(i) < len(d.dense) {
		return d.dense[i]
	}
	return 0
}

func (d *denseDoc) VersionView() VersionVector {
	if d.stale {
		keys := make([]clock.ReplicaID, len(d.reps.ids))
		for r, i := range d.reps.ids {
			keys[i] = r
		}
		for i, s := range d.dense {
			if s > 0 {
				d.vv[keys[i]] = s
			}
		}
		d.stale = false
	}
	return d.vv
}

func (d *denseDoc) Version() VersionVector { return d.VersionView().Clone() }

func (d *denseDoc) Apply(changes []Change) (Applied, error) {
	var a Applied
	for _, ch := range changes {
		if v := d.VersionOf(ch.Replica); ch.Start <= v+1 && ch.End > v {
			d.set(ch.Replica, ch.End)
			a.Changes++
		}
	}
	return a, nil
}

func (d *denseDoc) ChangesSince(v VersionVector, maxBytes int) ([]Change, bool, error) {
	var out []Change
	size := 0
	vv := d.VersionView()
	for _, r := range vv.sortedReplicas() {
		have := vv[r]
		for _, ch := range d.reps.log[d.reps.of(r)] {
			if ch.End <= v[r] || ch.End > have {
				continue
			}
			if len(out) > 0 && size+len(ch.Data) > maxBytes {
				return out, true, nil
			}
			out, size = append(out, ch), size+len(ch.Data)
		}
	}
	return out, false, nil
}

func (d *denseDoc) Snapshot() ([]byte, VersionVector, error) { return nil, d.Version(), nil }
func (d *denseDoc) MergeSnapshot([]byte) (Applied, error)    { return Applied{}, nil }
func (d *denseDoc) RetryQuarantined() (Applied, error)       { return Applied{}, nil }
func (d *denseDoc) Fingerprint() []byte                      { return []byte("dense") }
