package crdt

import (
	"testing"
	"time"
)

// A replica with SkipPatches shows the same state as one without, through
// every entry point, whenever it is read: after one remote change or many,
// after its own and others' local updates, and after snapshot merges. Its
// remote results carry no patches.
func TestSkipPatchesSameState(t *testing.T) {
	_, rng := lawSeed(t)
	for run := range propRuns(30) {
		reps, all := lawHistory(t, rng, 3)
		x := newReplica(t, 70, propStrategies()) // patches, the oracle
		y := newReplicaWith(t, 71, propStrategies(), func(c *Config) { c.SkipPatches = true })
		both := func(f func(r *replica) (Result, error)) {
			t.Helper()
			if _, err := f(x); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			res, err := f(y)
			if err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if res.Patches != nil {
				t.Fatalf("run %d: SkipPatches replica returned %d patches", run, len(res.Patches))
			}
		}
		for step := range 40 {
			switch k := rng.IntN(10); {
			case k < 4: // a batch of the history, in any order, duplicates included
				batch := make([]*Change, 1+rng.IntN(6))
				for i := range batch {
					batch[i] = all[rng.IntN(len(all))]
				}
				both(func(r *replica) (Result, error) { return r.Apply(batch...) })
			case k < 5: // the same, encoded
				c := all[rng.IntN(len(all))]
				data := EncodeChanges([]*Change{c})
				both(func(r *replica) (Result, error) { return r.ApplyEncoded(data) })
			case k < 6: // a writer's snapshot
				s := reps[rng.IntN(len(reps))].Snapshot()
				both(func(r *replica) (Result, error) { return r.MergeSnapshot(s) })
			case k < 8: // y edits; x receives it
				y.phys.Advance(time.Millisecond)
				c, err := y.Update(randomRecipe(rng))
				if err == nil && c != nil {
					x.apply(t, c)
					all = append(all, c)
				}
			default: // x edits; y receives it
				x.phys.Advance(time.Millisecond)
				c, err := x.Update(randomRecipe(rng))
				if err == nil && c != nil {
					if res := y.apply(t, c); res.Patches != nil {
						t.Fatalf("run %d: SkipPatches replica returned patches", run)
					}
					all = append(all, c)
				}
			}
			if rng.IntN(3) == 0 { // read now and then: stale across several calls
				if a, b := x.json(t), y.json(t); a != b {
					t.Fatalf("run %d step %d: states differ:\n%s\n---\n%s", run, step, a, b)
				}
			}
		}
		x.apply(t, all...)
		y.apply(t, all...)
		if a, b := x.json(t), y.json(t); a != b {
			t.Fatalf("run %d: final states differ:\n%s\n---\n%s", run, a, b)
		}
	}
}
