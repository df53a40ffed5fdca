package crdt

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// Remote ops find key registers through two caches (a node's hot registers
// and nodeAt's step); both trust a register only while it holds something,
// because Compact drops registers that hold nothing from their node. Here
// registers are emptied by deletes, dropped by Compact and written again,
// at the root and in a nested map, both big enough to be cached; every
// replica must end with the author's state and its registers in step.
func TestCachedRegistersAfterCompact(t *testing.T) {
	a := newReplica(t, 1, nil)
	b := newReplica(t, 2, nil)
	c := newReplica(t, 3, nil)
	var cs []*Change
	write := func(f func(d *draft.Draft) error) { cs = append(cs, a.update(t, f)) }
	write(set("/m", draft.EmptyMap()))
	for round := range 3 {
		for i := range 40 {
			k := "k" + strconv.Itoa(i)
			v := draft.Int(int64(100*round + i))
			write(set("/"+k, v))
			write(set("/m/"+k, v))
		}
		for i := 0; i < 40; i += 3 {
			k := "k" + strconv.Itoa(i)
			write(del("/" + k))
			write(del("/m/" + k))
		}
		// b applies one change per call (the caches at work); c gets the
		// round in one batch.
		for _, ch := range cs {
			b.apply(t, ch)
		}
		c.apply(t, cs...)
		cs = cs[:0]
		for _, r := range []*replica{a, b, c} {
			r.Compact(r.Version())
		}
		if round == 1 {
			// The dropped map itself comes back through nodeAt's step.
			write(del("/m"))
			write(set("/m", draft.EmptyMap()))
		}
	}
	for _, r := range []*replica{b, c} {
		checkConsistent(t, r.Doc)
		if got, want := r.json(t), a.json(t); got != want {
			t.Fatalf("replica %v: state\n%s\nwant\n%s", r.Replica(), got, want)
		}
	}
}

// TestHotSlotsOracle checks a node's register cache against its keys
// through random remembers and finds while the node grows: find returns a
// register only for its own key, a register just remembered is found, and
// growing the table keeps what fits (most of it).
func TestHotSlotsOracle(t *testing.T) {
	seed := uint64(rand.Int64())
	rng := rand.New(rand.NewPCG(seed, 11))
	var c hotSlots
	keys := map[string]*slot{}
	var order []string
	for step := range 20000 {
		if len(order) < 400 && rng.IntN(8) == 0 {
			k := "k" + strconv.Itoa(len(order))
			keys[k] = &slot{key: k}
			order = append(order, k)
		}
		if len(order) == 0 {
			continue
		}
		k := order[rng.IntN(len(order))]
		h := keyHash(k)
		if s := c.find(h, k); s != nil && s != keys[k] {
			t.Fatalf("seed %d step %d: find(%q) returned another key's register %q", seed, step, k, s.key)
		}
		c.remember(h, keys[k], len(keys))
		if len(keys) >= hotMin && c.find(h, k) != keys[k] {
			t.Fatalf("seed %d step %d: %q not found just after remember", seed, step, k)
		}
	}
	hits := 0
	for k, s := range keys {
		if c.find(keyHash(k), k) == s {
			hits++
		}
	}
	if hits < len(keys)*9/10 {
		t.Fatalf("seed %d: %d of %d keys cached", seed, hits, len(keys))
	}
	c.forget()
	for k := range keys {
		if c.find(keyHash(k), k) != nil {
			t.Fatalf("seed %d: %q found after forget", seed, k)
		}
	}
}
