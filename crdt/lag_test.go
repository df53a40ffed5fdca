package crdt

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// The visible patches State applies lazily share their memory with the
// Result.Patches handed out: after a read the lag goes on in the same
// backing array, and a full one moves to a new array. A slice handed out
// must never change afterwards, whatever the reads and batch sizes between,
// and the state must match the author's.
func TestLagKeepsHandedOutPatches(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 7))
		src := newReplica(t, 1, nil)
		var cs []*Change
		for i := range 600 {
			key := "k" + strconv.Itoa(rng.IntN(40))
			v := draft.Int(int64(i))
			switch rng.IntN(4) {
			case 0:
				cs = append(cs, src.update(t, func(d *draft.Draft) error {
					if !d.Root().Has("log") {
						return d.Root().Set("log", draft.ListOf(v))
					}
					return d.Root().List("log").Append(v)
				}))
			case 1:
				cs = append(cs, src.update(t, func(d *draft.Draft) error {
					if d.Root().Has(key) {
						return d.Root().Delete(key)
					}
					return d.Root().Set(key, v)
				}))
			default:
				cs = append(cs, src.update(t, set("/"+key, v)))
			}
		}
		dst := newReplica(t, 2, nil)
		type handed struct {
			ps   []draft.Patch
			json string
		}
		var kept []handed
		for i := 0; i < len(cs); {
			n := 1 + rng.IntN(3)
			if rng.IntN(20) == 0 {
				n = 40 + rng.IntN(80) // a batch that straddles a full buffer
			}
			n = min(n, len(cs)-i)
			res := dst.apply(t, cs[i:i+n]...)
			i += n
			if len(res.Patches) > 0 {
				kept = append(kept, handed{res.Patches, patchesJSON(t, res.Patches)})
			}
			if rng.IntN(8) == 0 {
				dst.State()
			}
		}
		for k, h := range kept {
			if got := patchesJSON(t, h.ps); got != h.json {
				t.Fatalf("seed %d: patches handed out by call %d changed:\nwas %s\nnow %s", seed, k, h.json, got)
			}
		}
		if a, b := src.json(t), dst.json(t); a != b {
			t.Fatalf("seed %d: states differ:\n%s\n%s", seed, a, b)
		}
	}
}

func patchesJSON(t *testing.T, ps []draft.Patch) string {
	t.Helper()
	b, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
