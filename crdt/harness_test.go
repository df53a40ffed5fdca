package crdt

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// replica is a Doc with its own manual physical clock.
type replica struct {
	*Doc
	phys *clock.Manual
}

func newReplica(t testing.TB, id clock.ReplicaID, st *Strategies) *replica {
	t.Helper()
	return newReplicaWith(t, id, st, nil)
}

// newReplicaWith is newReplica with tune applied to the Config first.
func newReplicaWith(t testing.TB, id clock.ReplicaID, st *Strategies, tune func(*Config)) *replica {
	t.Helper()
	phys := clock.NewManual(1_700_000_000_000)
	clk, err := clock.New(clock.Config{Replica: id, Physical: phys, MaxDrift: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(id, clk)
	cfg.Strategies = st
	if tune != nil {
		tune(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &replica{Doc: d, phys: phys}
}

func mustJSON(t testing.TB, v draft.Value) string {
	t.Helper()
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (r *replica) json(t testing.TB) string { return mustJSON(t, r.State()) }

// update runs a recipe and fails the test on error.
func (r *replica) update(t testing.TB, f func(d *draft.Draft) error) *Change {
	t.Helper()
	r.phys.Advance(time.Millisecond)
	c, err := r.Update(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *replica) apply(t testing.TB, cs ...*Change) Result {
	t.Helper()
	res, err := r.Apply(cs...)
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r.Doc)
	return res
}

// writeInts writes 0, 1, ... n-1 to path, each its own change, and returns
// the changes in order.
func (r *replica) writeInts(t testing.TB, path string, n int) []*Change {
	cs := make([]*Change, 0, n)
	for i := range n {
		cs = append(cs, r.update(t, set(path, draft.Int(int64(i)))))
	}
	return cs
}

func set(path string, v draft.Value) func(d *draft.Draft) error {
	return func(d *draft.Draft) error { return d.Set(draft.MustParsePointer(path), v) }
}

func del(path string) func(d *draft.Draft) error {
	return func(d *draft.Draft) error { return d.Delete(draft.MustParsePointer(path)) }
}

func obj(kv ...any) draft.Value {
	m := map[string]draft.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(draft.Value)
	}
	return draft.MapOf(m)
}

// checkConsistent verifies that the materialised state equals a full render
// of the registers, and that shown flags agree.
func checkConsistent(t testing.TB, d *Doc) {
	t.Helper()
	want := d.renderNode(d.root, visMap, false)
	if !want.Equal(d.State()) {
		t.Fatalf("replica %s: state %s, registers render %s", d.Replica(), mustJSON(t, d.State()), mustJSON(t, want))
	}
}

// dump is a canonical text of the whole CRDT state (registers, counters,
// list order with tombstones, version vector), for byte-identity checks.
func dump(d *Doc) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vv %v\n", d.vv.Replicas())
	for _, r := range d.vv.Replicas() {
		fmt.Fprintf(&b, " %d:%d", r, d.vv[r])
	}
	b.WriteString("\n")
	dumpNode(&b, d.root, "")
	js, _ := d.State().MarshalJSON()
	b.Write(js)
	return b.String()
}

func dumpNode(b *strings.Builder, n *node, prefix string) {
	keys := make([]string, 0, len(n.keys))
	for k := range n.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dumpSlot(b, n.keys[k], prefix+"/"+k)
	}
	if n.lst != nil {
		for p, vis := range n.lst.seq.All() {
			fmt.Fprintf(b, "%s[slot %v vis=%v]\n", prefix, p, vis)
			if e := n.lst.elem(p); e != nil {
				dumpSlot(b, e, prefix+"/@"+p.String())
			}
		}
	}
}

func dumpSlot(b *strings.Builder, s *slot, path string) {
	es := slices.Clone(s.entries)
	slices.SortFunc(es, func(a, c entry) int {
		if opLess(a.ts, a.id, c.ts, c.id) {
			return -1
		}
		return 1
	})
	if len(es) > 0 || s.ctr != nil || s.isElem() {
		fmt.Fprintf(b, "%s:", path)
		for _, e := range es {
			js, _ := e.val.MarshalJSON()
			fmt.Fprintf(b, " %v@%v=%s", e.id, e.ts, js)
		}
		if s.ctr != nil {
			for _, c := range s.ctr.contribs {
				fmt.Fprintf(b, " ctr(%d seq=%d %d %g rem=%d %d %g)", c.replica, c.seq, c.i, c.f, c.remSeq, c.remI, c.remF)
			}
		}
		if s.isElem() {
			fmt.Fprintf(b, " pos=%v", s.pos)
		}
		b.WriteString("\n")
	}
	if s.child != nil {
		if os.Getenv("CRDT_TRACE") != "" {
			fmt.Fprintf(b, "%s node: live=%d/%d impl=%d shown=%d vis=%d\n", path, s.child.liveMap, s.child.liveList, s.child.impl, s.child.shown, s.vis)
		}
		dumpNode(b, s.child, path)
	}
}

type clockReplica = clock.ReplicaID
