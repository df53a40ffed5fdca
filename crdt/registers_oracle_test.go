package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// A naive oracle for last-writer-wins map registers (rule 1 and 2 at the
// root): a register holds every write to its key that no received op
// names in Pred and no later received op of its author at the key
// follows (the same-author rule), and shows the greatest by (timestamp, replica, sequence).
// The remote path's shortcuts (an overwrite replacing its predecessor in
// place, among concurrent entries too; concurrent scalars resolving to the
// newest without candidates) must agree with it, whether changes arrive in
// one batch, one by one, shuffled (premature ones buffered) or twice.
func TestPropertyRegistersOracle(t *testing.T) {
	seed := propSeed()
	for run := range propRuns(40) {
		s := seed + uint64(run)
		if msg := registersHistory(t, s); msg != "" {
			t.Fatalf("seed %d (CRDT_SEED=%d CRDT_PROP_RUNS=1 reproduces): %s", s, s, msg)
		}
	}
}

type oracleOp struct {
	id   OpID
	c    *Change
	key  string
	del  bool
	val  draft.Value
	pred []OpID
}

func registersHistory(t *testing.T, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	const nrep, nkeys = 3, 4
	reps := make([]*replica, nrep)
	for i := range reps {
		reps[i] = newReplica(t, clockID(i), nil)
	}
	var ops []oracleOp
	received := make([]map[OpID]bool, nrep)
	for i := range received {
		received[i] = map[OpID]bool{}
	}
	record := func(c *Change) {
		for k := range c.Ops {
			op := &c.Ops[k]
			ops = append(ops, oracleOp{id: c.ID(k), c: c, key: op.Key.Key, del: op.Kind == OpDelete, val: op.Value, pred: op.Pred})
		}
	}
	for step := range 60 + rng.IntN(60) {
		i := rng.IntN(nrep)
		r := reps[i]
		switch x := rng.IntN(10); {
		case x < 6: // a write, sometimes a delete
			key := fmt.Sprintf("k%d", rng.IntN(nkeys))
			r.phys.Advance(time.Duration(rng.IntN(2)) * time.Millisecond)
			var c *Change
			var err error
			if rng.IntN(6) == 0 {
				if _, ok := r.State().Get(key); !ok {
					continue
				}
				c, err = r.Update(func(d *draft.Draft) error { return d.Delete(draft.Path{draft.Key(key)}) })
			} else {
				v := draft.Int(int64(1000*step + i))
				c, err = r.Update(func(d *draft.Draft) error { return d.Set(draft.Path{draft.Key(key)}, v) })
			}
			if err != nil {
				return fmt.Sprintf("step %d: update: %v", step, err)
			}
			if c != nil {
				record(c)
				for k := range c.Ops {
					received[i][c.ID(k)] = true
				}
			}
		default: // replica i receives what j has and it lacks
			j := rng.IntN(nrep)
			if j == i {
				continue
			}
			cs := reps[j].ChangesSince(r.Version(), 0)
			if msg := deliver(rng, r, cs); msg != "" {
				return fmt.Sprintf("step %d: %d <- %d: %s", step, i, j, msg)
			}
			for _, c := range cs {
				// A gap delivers its elided ops too (as superseded).
				for seq := c.StartSeq; seq <= c.EndSeq(); seq++ {
					received[i][OpID{Replica: c.Replica, Seq: seq}] = true
				}
			}
		}
		if msg := compareOracle(r, ops, received[i], nkeys); msg != "" {
			return fmt.Sprintf("step %d, replica %d: %s", step, i, msg)
		}
	}
	// Everyone receives everything: one state, the oracle's.
	for i, r := range reps {
		for j := range reps {
			if j != i {
				if msg := deliver(rng, r, reps[j].ChangesSince(r.Version(), 0)); msg != "" {
					return fmt.Sprintf("final %d <- %d: %s", i, j, msg)
				}
			}
		}
	}
	all := map[OpID]bool{}
	for _, op := range ops {
		all[op.id] = true
	}
	for i, r := range reps {
		if msg := compareOracle(r, ops, all, nkeys); msg != "" {
			return fmt.Sprintf("final, replica %d: %s", i, msg)
		}
		if !r.State().Equal(reps[0].State()) {
			return fmt.Sprintf("final: replica %d differs from replica 0", i)
		}
	}
	return ""
}

// deliver applies cs to r in one of four ways: one batch (through the wire),
// one by one, shuffled one by one, or a shuffled batch with duplicates.
func deliver(rng *rand.Rand, r *replica, cs []*Change) string {
	if len(cs) == 0 {
		return ""
	}
	var calls [][]*Change
	switch rng.IntN(4) {
	case 0:
		dec, err := DecodeChanges(EncodeChanges(cs))
		if err != nil {
			return err.Error()
		}
		calls = [][]*Change{dec}
	case 1:
		for _, c := range cs {
			calls = append(calls, []*Change{c})
		}
	case 2:
		p := slices.Clone(cs)
		rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
		for _, c := range p {
			calls = append(calls, []*Change{c})
		}
	default:
		p := append(slices.Clone(cs), cs[rng.IntN(len(cs))])
		rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
		calls = [][]*Change{p}
	}
	for _, call := range calls {
		if _, err := r.Apply(call...); err != nil {
			return err.Error()
		}
	}
	if r.PendingLen() != 0 {
		return fmt.Sprintf("%d changes still pending", r.PendingLen())
	}
	return consistency(r.Doc)
}

// compareOracle checks r's visible state and conflicts against the oracle
// over the ops r has received.
func compareOracle(r *replica, ops []oracleOp, got map[OpID]bool, nkeys int) string {
	superseded := map[OpID]bool{}
	newest := map[string]uint64{} // by key and author: the newest op received
	for _, op := range ops {
		if got[op.id] {
			for _, p := range op.pred {
				superseded[p] = true
			}
			k := op.key + "/" + op.id.Replica.String()
			newest[k] = max(newest[k], op.id.Seq)
		}
	}
	for _, op := range ops {
		// The same-author rule: a later op of the author at the key.
		if newest[op.key+"/"+op.id.Replica.String()] > op.id.Seq {
			superseded[op.id] = true
		}
	}
	st := r.State()
	for k := range nkeys {
		key := fmt.Sprintf("k%d", k)
		var live []oracleOp
		for _, op := range ops {
			if got[op.id] && op.key == key && !op.del && !superseded[op.id] {
				live = append(live, op)
			}
		}
		v, ok := st.Get(key)
		if len(live) == 0 {
			if ok {
				return fmt.Sprintf("%s shows %v, oracle has nothing", key, v)
			}
			continue
		}
		best := live[0]
		for _, op := range live[1:] {
			if opLess(best.c.Timestamp, best.id, op.c.Timestamp, op.id) {
				best = op
			}
		}
		if !ok || !v.Equal(best.val) {
			return fmt.Sprintf("%s shows %v (present %v), oracle %v of %d live", key, v, ok, best.val, len(live))
		}
		cf := r.Conflicts(draft.Path{draft.Key(key)})
		if len(live) == 1 {
			if cf != nil {
				return fmt.Sprintf("%s has conflicts %v, oracle one live write", key, cf)
			}
			continue
		}
		var want, have []string
		for _, op := range live {
			want = append(want, fmt.Sprint(op.id))
		}
		for _, c := range cf {
			have = append(have, fmt.Sprint(c.ID))
		}
		slices.Sort(want)
		slices.Sort(have)
		if !slices.Equal(want, have) {
			return fmt.Sprintf("%s conflicts [%s], oracle [%s]", key, strings.Join(have, " "), strings.Join(want, " "))
		}
	}
	return ""
}
