package crdt

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// propRuns is the number of random histories per property test; raise it
// with CRDT_PROP_RUNS for a soak.
func propRuns(def int) int { return runsFrom("CRDT_PROP_RUNS", def) }

// runsFrom is def, or the positive count in the environment variable env,
// or a quarter of def (at least one) under -short.
func runsFrom(env string, def int) int {
	if s := os.Getenv(env); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	if testing.Short() {
		return max(1, def/4)
	}
	return def
}

func propSeed() uint64 {
	if s := os.Getenv("CRDT_SEED"); s != "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n
		}
	}
	return uint64(time.Now().UnixNano())
}

func propStrategies() *Strategies {
	return NewStrategies().
		MustSet("/c/*", Count()).
		MustSet("/m", Multi()).
		MustSet("/mx", Maximum()).
		MustSet("/mn/*", Minimum()).
		MustSet("/cu", CustomMerge("max-string", func(a, b draft.Value) draft.Value {
			as, _ := a.MarshalJSON()
			bs, _ := b.MarshalJSON()
			if string(as) >= string(bs) {
				return a
			}
			return b
		}))
}

var topKeys = []string{"a", "b", "c", "m", "mx", "mn", "cu", "l"}
var subKeys = []string{"p", "q", "r", "s"}

func randScalar(rng *rand.Rand) draft.Value {
	switch rng.IntN(6) {
	case 0:
		return draft.Null()
	case 1:
		return draft.Bool(rng.IntN(2) == 0)
	case 2:
		return draft.Float(float64(rng.IntN(100)) / 4)
	case 3:
		return draft.String(string(rune('a' + rng.IntN(26))))
	}
	return draft.Int(int64(rng.IntN(100)))
}

func randValue(rng *rand.Rand, depth int) draft.Value {
	if depth > 2 {
		return randScalar(rng)
	}
	switch rng.IntN(8) {
	case 0:
		m := map[string]draft.Value{}
		for range rng.IntN(3) {
			m[subKeys[rng.IntN(len(subKeys))]] = randValue(rng, depth+1)
		}
		return draft.MapOf(m)
	case 1:
		var items []draft.Value
		for range rng.IntN(3) {
			items = append(items, randValue(rng, depth+1))
		}
		return draft.ListOf(items...)
	}
	return randScalar(rng)
}

// randContainer walks from the root into random containers.
func randContainer(rng *rand.Rand, v draft.Value) draft.Path {
	var p draft.Path
	for rng.IntN(3) != 0 {
		var kids []draft.Segment
		switch v.Kind() {
		case draft.MapKind:
			for k, x := range v.Range() {
				if x.Kind() == draft.MapKind || x.Kind() == draft.ListKind {
					kids = append(kids, draft.Key(k))
				}
			}
		case draft.ListKind:
			for i, x := range v.Items() {
				if x.Kind() == draft.MapKind || x.Kind() == draft.ListKind {
					kids = append(kids, draft.Index(i))
				}
			}
		}
		if len(kids) == 0 {
			break
		}
		sg := kids[rng.IntN(len(kids))]
		p = append(p, sg)
		v, _ = v.At(draft.Path{sg})
	}
	return p
}

func randomRecipe(rng *rand.Rand) func(d *draft.Draft) error {
	return func(d *draft.Draft) error {
		for range 1 + rng.IntN(3) {
			cur := d.Current()
			p := randContainer(rng, cur)
			v, _ := cur.At(p)
			at := func(s draft.Segment) draft.Path { return append(append(draft.Path{}, p...), s) }
			switch v.Kind() {
			case draft.MapKind:
				keys := subKeys
				if len(p) == 0 {
					keys = topKeys
				}
				k := keys[rng.IntN(len(keys))]
				x, has := v.Get(k)
				switch r := rng.IntN(10); {
				case r < 2 && has:
					if err := d.Delete(at(draft.Key(k))); err != nil {
						return err
					}
				case r < 4 && has && (x.Kind() == draft.IntKind):
					if err := d.Increment(at(draft.Key(k)), draft.Int(int64(rng.IntN(5)-2))); err != nil {
						return err
					}
				case r < 5 && len(p) == 0 && k == "l":
					if err := d.Set(at(draft.Key(k)), draft.ListOf(randScalar(rng))); err != nil {
						return err
					}
				default:
					if err := d.Set(at(draft.Key(k)), randValue(rng, len(p))); err != nil {
						return err
					}
				}
			case draft.ListKind:
				n := v.Len()
				switch r := rng.IntN(10); {
				case r < 4 || n == 0:
					if err := d.Insert(at(draft.Index(rng.IntN(n+1))), randValue(rng, len(p)+1)); err != nil {
						return err
					}
				case r < 6:
					if err := d.Delete(at(draft.Index(rng.IntN(n)))); err != nil {
						return err
					}
				case r < 8:
					if err := d.Set(at(draft.Index(rng.IntN(n))), randValue(rng, len(p)+1)); err != nil {
						return err
					}
				default:
					if err := d.ListAt(p).Move(rng.IntN(n), rng.IntN(n)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

type sentChange struct {
	c      *Change
	author VersionVector // the author's version vector before the change
}

func TestPropertyConvergence(t *testing.T) {
	runs := propRuns(40)
	base := propSeed()
	for run := range runs {
		seed := base + uint64(run)
		if !runHistory(t, seed) {
			t.Fatalf("failed with seed %d (rerun: CRDT_SEED=%d go test -run TestPropertyConvergence -count=1 ./crdt/)", seed, seed)
		}
	}
}

func runHistory(t *testing.T, seed uint64) (ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("seed %d: panic: %v", seed, r)
			ok = false
			panic(r)
		}
	}()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	nrep := 3 + rng.IntN(3)
	st := propStrategies()
	reps := make([]*replica, nrep)
	for i := range reps {
		reps[i] = newReplica(t, clockID(i), st)
		if os.Getenv("CRDT_TRACE") != "" {
			d := reps[i].Doc
			prev := dump(d)
			d.afterOp = func(c *Change, i int) {
				if msg := flagCheck(d, d.root); msg != "" {
					t.Logf("before:\n%s", prev)
					t.Logf("op %d of %s", i, fmtChange(c))
					t.Fatalf("after: %s\n%s", msg, dump(d))
				}
				prev = dump(d)
			}
		}
	}
	var all []sentChange
	var snaps []*Snapshot
	olds := map[clockReplica][]VersionVector{}
	steps := 30 + rng.IntN(40)
	for range steps {
		r := reps[rng.IntN(nrep)]
		if rng.IntN(8) == 0 {
			sn, err := DecodeSnapshot(EncodeSnapshot(r.Snapshot()))
			if err != nil {
				t.Errorf("seed %d: snapshot round trip: %v", seed, err)
				return false
			}
			snaps = append(snaps, sn)
		}
		if rng.IntN(3) != 0 {
			r.phys.Advance(time.Duration(rng.IntN(3)) * time.Millisecond)
			before := r.Version()
			beforeDump := dump(r.Doc)
			var c *Change
			var err error
			if rng.IntN(2) == 0 {
				c, err = r.Update(randomRecipe(rng))
			} else {
				// the mesh's way: Produce, then hand the patches over
				var ps []draft.Patch
				if _, ps, _, err = draft.Produce(r.State(), randomRecipe(rng)); err == nil {
					c, err = r.UpdatePatches(ps)
				}
			}
			if errors.Is(err, ErrPath) {
				continue // an edit inside a MultiValue sibling list
			}
			if err != nil {
				t.Errorf("seed %d: update: %v", seed, err)
				return false
			}
			if c != nil {
				all = append(all, sentChange{c, before})
			}
			if msg := consistency(r.Doc); msg != "" {
				if os.Getenv("CRDT_TRACE") != "" {
					t.Logf("before:\n%s", beforeDump)
					if c != nil {
						t.Logf("%s", fmtChange(c))
					}
					t.Logf("after:\n%s", dump(r.Doc))
				}
				t.Errorf("seed %d: after local update on %s: %s", seed, r.Replica(), msg)
				return false
			}
			continue
		}
		if rng.IntN(3) == 0 {
			// anti-entropy from a random peer, against a stale version
			// vector of ours (what we had some steps ago), bounded
			src := reps[rng.IntN(nrep)]
			old := olds[r.Replica()]
			if len(old) > 0 {
				vv := old[rng.IntN(len(old))]
				if _, err := r.Apply(src.ChangesSince(vv, rng.IntN(2000))...); err != nil {
					t.Errorf("seed %d: apply anti-entropy: %v", seed, err)
					return false
				}
				if msg := consistency(r.Doc); msg != "" {
					t.Errorf("seed %d: after anti-entropy on %s: %s", seed, r.Replica(), msg)
					return false
				}
			}
			olds[r.Replica()] = append(olds[r.Replica()], r.Version())
			continue
		}
		// deliver a random subset, in random order, with duplicates
		var batch []*Change
		for range rng.IntN(6) {
			if len(all) > 0 {
				batch = append(batch, all[rng.IntN(len(all))].c)
			}
		}
		before := dump(r.Doc)
		if _, err := r.Apply(batch...); err != nil {
			t.Errorf("seed %d: apply: %v", seed, err)
			return false
		}
		if msg := consistency(r.Doc); msg != "" {
			if os.Getenv("CRDT_TRACE") != "" {
				t.Logf("before:\n%s", before)
				for _, c := range batch {
					t.Logf("%s", fmtChange(c))
				}
				t.Logf("after:\n%s", dump(r.Doc))
			}
			t.Errorf("seed %d: after apply on %s: %s", seed, r.Replica(), msg)
			return false
		}
	}
	// final delivery of everything, shuffled, with duplicates
	for i, r := range reps {
		if i%2 == 1 {
			// by anti-entropy replies (compacted) from every replica
			for _, src := range reps {
				if _, err := r.Apply(src.ChangesSince(r.Version(), 0)...); err != nil {
					t.Errorf("seed %d: apply: %v", seed, err)
					return false
				}
			}
		}
		batch := make([]*Change, 0, 2*len(all))
		for _, s := range all {
			batch = append(batch, s.c)
			if rng.IntN(4) == 0 {
				batch = append(batch, s.c)
			}
		}
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		// deliver in a few chunks, so pending buffers are exercised across calls
		for len(batch) > 0 {
			k := 1 + rng.IntN(len(batch))
			if _, err := r.Apply(batch[:k]...); err != nil {
				t.Errorf("seed %d: apply: %v", seed, err)
				return false
			}
			batch = batch[k:]
		}
		if r.PendingLen() != 0 {
			t.Errorf("seed %d: %s still has %d pending", seed, r.Replica(), r.PendingLen())
			return false
		}
		if msg := consistency(r.Doc); msg != "" {
			t.Errorf("seed %d: final on %s: %s", seed, r.Replica(), msg)
			return false
		}
	}
	want := dump(reps[0].Doc)
	for _, r := range reps[1:] {
		if got := dump(r.Doc); got != want {
			t.Errorf("seed %d: replicas diverge:\n--- %s\n%s\n--- %s\n%s", seed, reps[0].Replica(), want, r.Replica(), got)
			return false
		}
	}
	// Snapshots: merging them (in any order, with duplicates) and then the
	// changes gives the same state; merging the final snapshots alone too.
	var changes []*Change
	for _, s := range all {
		changes = append(changes, s.c)
	}
	var finals []*Snapshot
	for _, r := range reps {
		finals = append(finals, r.Snapshot())
	}
	for k, plan := range [][]*Snapshot{snaps, reversed(append(snaps, snaps...)), finals, reversed(finals)} {
		x := newReplica(t, clockReplica(100+k), st)
		for _, sn := range plan {
			if _, err := x.MergeSnapshot(sn); err != nil {
				t.Errorf("seed %d: merge snapshot: %v", seed, err)
				return false
			}
			if msg := consistency(x.Doc); msg != "" {
				t.Errorf("seed %d: after snapshot merge: %s", seed, msg)
				return false
			}
		}
		if k < 2 {
			if _, err := x.Apply(changes...); err != nil {
				t.Errorf("seed %d: apply after snapshots: %v", seed, err)
				return false
			}
		}
		if got := dump(x.Doc); got != want {
			t.Errorf("seed %d: snapshot plan %d diverges:\n--- want\n%s\n--- got\n%s", seed, k, want, got)
			return false
		}
	}
	if msg := noSilentLoss(reps[0].Doc, all); msg != "" {
		t.Errorf("seed %d: %s", seed, msg)
		return false
	}
	return true
}

func clockID(i int) clockReplica { return clockReplica(i + 1) }

func consistency(d *Doc) string {
	if msg := flagCheck(d, d.root); msg != "" {
		return msg
	}
	want := d.renderNode(d.root, visMap, false)
	if !want.Equal(d.State()) {
		a, _ := d.State().MarshalJSON()
		b, _ := want.MarshalJSON()
		return "state " + string(a) + " but registers render " + string(b)
	}
	return ""
}

// noSilentLoss checks that every write either still has a live entry or was
// superseded by an op whose author had seen it (listed it in Pred, or
// covered it with a context on an enclosing register).
func noSilentLoss(d *Doc, all []sentChange) string {
	type sup struct {
		path []Segment
		ctx  VersionVector
	}
	preds := map[OpID]bool{}
	var ctxs []sup
	for _, s := range all {
		for i := range s.c.Ops {
			op := &s.c.Ops[i]
			for _, p := range op.Pred {
				if !s.author.Covers(p) && !(p.Replica == s.c.Replica && p.Seq < s.c.ID(i).Seq) {
					return "op " + s.c.ID(i).String() + " lists unseen predecessor " + p.String()
				}
				preds[p] = true
			}
			if op.Ctx != nil {
				ctxs = append(ctxs, sup{append(append([]Segment{}, op.Path...), op.Key), op.Ctx})
			}
			for _, m := range op.Marks { // counter removals: exactly the marked prefix
				p := append(append(append([]Segment{}, op.Path...), op.Key), m.Rel...)
				ctxs = append(ctxs, sup{p, VersionVector{m.Replica: m.Seq}})
			}
		}
	}
	for _, s := range all {
		for i := range s.c.Ops {
			op := &s.c.Ops[i]
			if op.Kind != OpSet && op.Kind != OpInsert {
				continue
			}
			id := s.c.ID(i)
			key := op.Key
			if op.Kind == OpInsert {
				key = ElemSeg(id)
			}
			if liveEntry(d, op.Path, key, id) {
				continue
			}
			if preds[id] {
				continue
			}
			full := append(append([]Segment{}, op.Path...), key)
			found := false
			for _, c := range ctxs {
				if c.ctx.Covers(id) && hasPrefix(full, c.path) {
					found = true
					break
				}
			}
			if !found {
				return "write " + id.String() + " at " + formatSegs(full) + " vanished without being superseded"
			}
		}
	}
	return ""
}

func hasPrefix(p, q []Segment) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

func liveEntry(d *Doc, path []Segment, key Segment, id OpID) bool {
	n := d.root
	for _, sg := range path {
		var s *slot
		if sg.IsElem() {
			if n.lst == nil {
				return false
			}
			s = n.lst.elem(sg.Elem)
		} else {
			s = n.keys[sg.Key]
		}
		if s == nil || s.child == nil {
			return false
		}
		n = s.child
	}
	var s *slot
	if key.IsElem() {
		if n.lst == nil {
			return false
		}
		s = n.lst.elem(key.Elem)
	} else {
		s = n.keys[key.Key]
	}
	if s == nil {
		return false
	}
	for _, e := range s.entries {
		if e.id == id {
			return true
		}
	}
	if s.ctr != nil { // an insert into a list of counters is its first increment
		if k, ok := s.ctr.find(id.Replica); ok {
			c := s.ctr.contribs[k]
			return c.seq >= id.Seq && c.remSeq < id.Seq
		}
	}
	return false
}

// flagCheck verifies that every list position's visibility flag says whether
// it is its element's position and the element shows something.
func flagCheck(d *Doc, n *node) string {
	check := func(s *slot) string {
		if s.child != nil {
			return flagCheck(d, s.child)
		}
		return ""
	}
	for _, s := range n.keys {
		if m := check(s); m != "" {
			return m
		}
	}
	if n.lst == nil {
		return ""
	}
	for p, vis := range n.lst.seq.All() {
		e := n.lst.elemAt(p)
		k, _ := d.resolve(e)
		want := e.pos == p && k != visNone
		if vis != want {
			return "list " + formatSegs(n.path) + " slot " + p.String() + " of element " + e.elem.String() + " visible=" + strconv.FormatBool(vis) + ", want " + strconv.FormatBool(want)
		}
	}
	for e := range n.lst.all() {
		if m := check(e); m != "" {
			return m
		}
	}
	return ""
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}
