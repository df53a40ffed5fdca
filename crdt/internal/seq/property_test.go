package seq

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// propRuns is the number of seeded histories TestConvergence runs; set
// SEQ_PROP_RUNS for a longer search.
func propRuns(t *testing.T, dflt int) int {
	if s := os.Getenv("SEQ_PROP_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SEQ_PROP_RUNS: %v", err)
		}
		return n
	}
	return dflt
}

type propOp struct {
	insert bool
	id     ID      // inserted slot, or deleted slot
	o      Origins // insert only
}

type replica struct {
	l    *List
	o    *oracle
	seen map[int]bool // indexes into the global op log already applied
	next uint64
}

// ready reports whether op can be applied on r (its origin or target is present).
func (r *replica) ready(op propOp) bool {
	if !op.insert {
		return r.l.Has(op.id)
	}
	for _, x := range []ID{op.o.Left, op.o.Right} {
		if !x.IsZero() && !r.l.Has(x) {
			return false
		}
	}
	return true
}

func (r *replica) deliver(t *testing.T, seed uint64, op propOp) {
	if op.insert {
		ix, err := r.l.Integrate(op.id, op.o)
		if err != nil && !errors.Is(err, ErrDuplicate) {
			t.Fatalf("seed %d: integrate %v: %v", seed, op.id, err)
		}
		r.o.integrate(op.id, op.o)
		if want := r.o.indexOf(op.id); ix != want {
			t.Fatalf("seed %d: integrate %v returned index %d, oracle %d", seed, op.id, ix, want)
		}
		return
	}
	if _, _, err := r.l.SetVisible(op.id, false); err != nil {
		t.Fatalf("seed %d: delete %v: %v", seed, op.id, err)
	}
	r.o.vis[op.id] = false
}

// TestConvergence: 3 to 5 replicas make random local inserts and deletes and
// exchange them in random causal orders with duplicates; every replica ends
// with the same slots in the same order, equal to the naive oracle's, and its
// encoding round-trips to identical bytes.
func TestConvergence(t *testing.T) {
	runs := propRuns(t, 40)
	for run := range runs {
		seed := uint64(run) + 1
		rng := rand.New(rand.NewPCG(seed, 0x5e9))
		n := 3 + rng.IntN(3)
		reps := make([]*replica, n)
		for i := range reps {
			reps[i] = &replica{l: New(), o: newOracle(), seen: map[int]bool{}, next: 1}
		}
		var log []propOp
		for range 400 {
			r := reps[rng.IntN(n)]
			me := clockReplica(r, reps)
			switch k := rng.IntN(10); {
			case k < 4: // local insert
				ix := rng.IntN(r.l.Len() + 1)
				x := ID{Replica: me, Seq: r.next}
				r.next++
				o, err := r.l.InsertAt(ix, x)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if want := r.o.insertAt(ix, x); want != o {
					t.Fatalf("seed %d: origins %+v, oracle %+v", seed, o, want)
				}
				r.seen[len(log)] = true
				log = append(log, propOp{insert: true, id: x, o: o})
			case k < 5 && r.l.Len() > 0: // local delete
				x, err := r.l.At(rng.IntN(r.l.Len()))
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				r.deliver(t, seed, propOp{id: x})
				r.seen[len(log)] = true
				log = append(log, propOp{id: x})
			default: // deliver a random op (possibly a duplicate) if it is ready
				if len(log) == 0 {
					continue
				}
				i := rng.IntN(len(log))
				op := log[i]
				if !r.ready(op) {
					if op.insert {
						before := r.l.Slots()
						if _, err := r.l.Integrate(op.id, op.o); !errors.Is(err, ErrMissingOrigin) || r.l.Slots() != before {
							t.Fatalf("seed %d: premature integrate: %v", seed, err)
						}
					}
					continue
				}
				r.deliver(t, seed, op)
				r.seen[i] = true
			}
		}
		// Drain: deliver everything in a shuffled order, retrying what is not ready.
		for _, r := range reps {
			order := rng.Perm(len(log))
			for progress := true; progress; {
				progress = false
				for _, i := range order {
					if !r.seen[i] && r.ready(log[i]) {
						r.deliver(t, seed, log[i])
						r.seen[i] = true
						progress = true
					}
				}
			}
			if len(r.seen) != len(log) {
				t.Fatalf("seed %d: %d of %d ops never became ready", seed, len(log)-len(r.seen), len(log))
			}
		}
		want := listSlots(reps[0].l)
		wantBytes := reps[0].l.AppendEncode(nil)
		for i, r := range reps {
			got := listSlots(r.l)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d: replica %d diverged:\n got %v\nwant %v", seed, i, got, want)
			}
			if !slices.Equal(got, r.o.slots()) {
				t.Fatalf("seed %d: replica %d differs from the oracle", seed, i)
			}
			checkTree(t, r.l)
			if b := r.l.AppendEncode(nil); !slices.Equal(b, wantBytes) {
				t.Fatalf("seed %d: replica %d encodes differently", seed, i)
			}
		}
		d, err := Decode(wantBytes)
		if err != nil {
			t.Fatalf("seed %d: decode: %v", seed, err)
		}
		checkTree(t, d)
		if !slices.Equal(listSlots(d), want) {
			t.Fatalf("seed %d: decoded list differs", seed)
		}
	}
}

// clockReplica gives replica r a replica id; spread out so encodings see
// multi-byte ids.
func clockReplica(r *replica, reps []*replica) clock.ReplicaID {
	return clock.ReplicaID(slices.Index(reps, r)*7919 + 3)
}
