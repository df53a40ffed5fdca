package crdt

import (
	"math/rand/v2"
	"testing"
	"time"
)

// lawHistory makes n replicas edit concurrently (some syncing in between)
// and returns them with every change made.
func lawHistory(t *testing.T, rng *rand.Rand, n int) ([]*replica, []*Change) {
	t.Helper()
	st := propStrategies()
	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = newReplica(t, clockID(i), st)
	}
	var all []*Change
	for range 20 + rng.IntN(20) {
		r := reps[rng.IntN(n)]
		if rng.IntN(4) == 0 && len(all) > 0 {
			if _, err := r.Apply(all[:rng.IntN(len(all))+1]...); err != nil {
				t.Fatal(err)
			}
			continue
		}
		r.phys.Advance(time.Millisecond)
		c, err := r.Update(randomRecipe(rng))
		if err == nil && c != nil {
			all = append(all, c)
		}
	}
	return reps, all
}

func lawSeed(t *testing.T) (uint64, *rand.Rand) {
	seed := propSeed()
	t.Logf("seed %d (rerun with CRDT_SEED)", seed)
	return seed, rand.New(rand.NewPCG(seed, 7))
}

// Applying a set of changes twice is applying it once.
func TestLawIdempotence(t *testing.T) {
	_, rng := lawSeed(t)
	for range propRuns(20) {
		_, all := lawHistory(t, rng, 3)
		x := newReplica(t, 50, propStrategies())
		x.apply(t, all...)
		once := dump(x.Doc)
		res := x.apply(t, all...)
		if got := dump(x.Doc); got != once || len(res.Patches) != 0 || res.Duplicates != len(all) {
			t.Fatalf("second application changed the state (%+v)", res)
		}
	}
}

// Concurrent changes commute: any delivery order gives the same state.
func TestLawCommutativity(t *testing.T) {
	_, rng := lawSeed(t)
	for range propRuns(20) {
		_, all := lawHistory(t, rng, 3)
		var want string
		for k := range 4 {
			order := append([]*Change(nil), all...)
			if k > 0 {
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			x := newReplica(t, 50, propStrategies())
			for _, c := range order {
				x.apply(t, c)
			}
			if got := dump(x.Doc); k == 0 {
				want = got
			} else if got != want {
				t.Fatalf("order %d gives a different state:\n%s\n---\n%s", k, want, got)
			}
		}
	}
}

// Snapshot merge is a join: commutative, associative, idempotent, and equal
// to applying the changes summarised.
func TestLawSnapshotJoin(t *testing.T) {
	_, rng := lawSeed(t)
	for range propRuns(20) {
		reps, _ := lawHistory(t, rng, 3)
		sa, sb, sc := reps[0].Snapshot(), reps[1].Snapshot(), reps[2].Snapshot()
		merge := func(ss ...*Snapshot) *replica {
			x := newReplica(t, 60, propStrategies())
			for _, s := range ss {
				if _, err := x.MergeSnapshot(s); err != nil {
					t.Fatal(err)
				}
				checkConsistent(t, x.Doc)
			}
			return x
		}
		ab, ba := dump(merge(sa, sb).Doc), dump(merge(sb, sa).Doc)
		if ab != ba {
			t.Fatalf("not commutative:\n%s\n---\n%s", ab, ba)
		}
		left := merge(merge(sa, sb).Snapshot(), sc)
		right := merge(sa, merge(sb, sc).Snapshot())
		if dump(left.Doc) != dump(right.Doc) {
			t.Fatalf("not associative")
		}
		aa := merge(sa, sa, sa)
		if dump(aa.Doc) != dump(merge(sa).Doc) {
			t.Fatalf("not idempotent")
		}
		res, err := reps[0].MergeSnapshot(sa)
		if err != nil || len(res.Patches) != 0 {
			t.Fatalf("merging own snapshot changed something: %+v %v", res, err)
		}
		// equal to applying the changes the snapshots summarise
		ops := newReplica(t, 61, propStrategies())
		for _, r := range reps {
			ops.apply(t, r.ChangesSince(nil, 0)...)
		}
		if dump(left.Doc) != dump(ops.Doc) {
			t.Fatalf("snapshot join differs from applying the ops:\n%s\n---\n%s", dump(left.Doc), dump(ops.Doc))
		}
	}
}
