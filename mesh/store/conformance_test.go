package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// impl opens a fresh store of one implementation; reopen closes and opens
// it again where the implementation persists (nil for Memory).
type impl struct {
	name   string
	open   func(t *testing.T) Store
	reopen func(t *testing.T, s Store) Store
}

func impls() []impl {
	return []impl{
		{name: "memory", open: func(t *testing.T) Store {
			s, err := NewMemory(testConfig(""))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{name: "disk", open: func(t *testing.T) Store {
			return openDisk(t, testConfig(t.TempDir()))
		}, reopen: func(t *testing.T, s Store) Store {
			d := s.(*Disk)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			return openDisk(t, d.cfg)
		}},
	}
}

func testConfig(dir string) Config {
	c := DefaultConfig(dir)
	c.MeshID = []byte("test-mesh")
	c.Fingerprint = []byte{1, 2, 3}
	c.NoSync = true
	c.ChunkBytes = 64 // several chunks even for small snapshots
	return c
}

func openDisk(t testing.TB, c Config) *Disk {
	t.Helper()
	d, err := OpenDisk(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeStore(t testing.TB, s Store) {
	t.Helper()
	if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func ch(r clock.ReplicaID, start, end uint64) Change {
	return Change{Replica: r, Start: start, End: end, Data: fmt.Appendf(nil, "%d:%d-%d", r, start, end)}
}

func mustWrite(t testing.TB, s Store, b Batch) {
	t.Helper()
	if err := Write(context.Background(), s, b); err != nil {
		t.Fatal(err)
	}
}

// allChanges reads every change since v in batches of maxBytes.
func allChanges(t testing.TB, s Store, v VersionVector, maxBytes int) []Change {
	t.Helper()
	v = cloneVV(v)
	var out []Change
	for range 100000 {
		cs, more, err := s.Changes(context.Background(), v, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			v[c.Replica] = max(v[c.Replica], c.End)
		}
		out = append(out, cs...)
		if !more {
			return out
		}
		if len(cs) == 0 {
			t.Fatal("more with no changes")
		}
	}
	t.Fatal("Changes did not finish")
	return nil
}

func forEachImpl(t *testing.T, f func(t *testing.T, im impl)) {
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

func TestConformanceLoadEmpty(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		defer closeStore(t, s)
		st, err := s.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Replica == 0 || !st.Created || !st.Clock.IsZero() || st.Snapshot.Data != nil || len(st.Version) != 0 || len(st.Quarantine) != 0 {
			t.Fatalf("fresh state: %+v", st)
		}
	})
}

func TestConformanceWriteAndRead(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		defer func() { closeStore(t, s) }()
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 1, 2), ch(1, 3, 3), ch(2, 1, 1), ch(1, 5, 6)}})
		mustWrite(t, s, Batch{Clock: clock.Timestamp{Wall: 100, Replica: 1}})
		mustWrite(t, s, Batch{Clock: clock.Timestamp{Wall: 50, Replica: 1}}) // never lowers
		mustWrite(t, s, Batch{SetQuarantine: true, Quarantine: []Change{ch(9, 4, 4), ch(9, 1, 1)}})
		check := func(s Store) {
			st, err := s.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := (VersionVector{1: 3, 2: 1}); !maps.Equal(st.Version, want) {
				t.Errorf("version %v, want %v", st.Version, want)
			}
			if st.Clock != (clock.Timestamp{Wall: 100, Replica: 1}) {
				t.Errorf("clock %v", st.Clock)
			}
			if !slices.EqualFunc(st.Quarantine, []Change{ch(9, 4, 4), ch(9, 1, 1)}, changeEqual) {
				t.Errorf("quarantine %v", st.Quarantine)
			}
			got := allChanges(t, s, nil, 1<<20)
			want := []Change{ch(1, 1, 2), ch(1, 3, 3), ch(1, 5, 6), ch(2, 1, 1)}
			if !slices.EqualFunc(got, want, changeEqual) {
				t.Errorf("changes %v, want %v", got, want)
			}
			got = allChanges(t, s, VersionVector{1: 3}, 1<<20)
			want = []Change{ch(1, 5, 6), ch(2, 1, 1)}
			if !slices.EqualFunc(got, want, changeEqual) {
				t.Errorf("changes since 1:3 %v, want %v", got, want)
			}
		}
		check(s)
		if im.reopen != nil {
			s = im.reopen(t, s)
			check(s)
			st, _ := s.Load(context.Background())
			if st.Created {
				t.Error("reopened store says Created")
			}
		}
		// Gap filled: version extends over the stored 5..6.
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 4, 4)}})
		st, _ := s.Load(context.Background())
		if st.Version[1] != 6 {
			t.Errorf("after filling the gap version %v", st.Version)
		}
		mustWrite(t, s, Batch{SetQuarantine: true})
		if st, _ := s.Load(context.Background()); len(st.Quarantine) != 0 {
			t.Errorf("quarantine not cleared: %v", st.Quarantine)
		}
	})
}

func changeEqual(a, b Change) bool {
	return a.Replica == b.Replica && a.Start == b.Start && a.End == b.End && bytes.Equal(a.Data, b.Data)
}

func TestConformanceBudget(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		defer closeStore(t, s)
		big := Change{Replica: 3, Start: 1, End: 1, Data: bytes.Repeat([]byte{7}, 100)}
		mustWrite(t, s, Batch{Changes: []Change{big, ch(3, 2, 2)}})
		cs, more, err := s.Changes(context.Background(), nil, 10)
		if err != nil || len(cs) != 1 || !more || !changeEqual(cs[0], big) {
			t.Fatalf("got %v more=%v err=%v; want the one oversized change and more", cs, more, err)
		}
		cs, more, err = s.Changes(context.Background(), VersionVector{3: 2}, 10)
		if err != nil || len(cs) != 0 || more {
			t.Fatalf("covered: got %v %v %v", cs, more, err)
		}
	})
}

func TestConformanceContainment(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		defer closeStore(t, s)
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 3, 3), ch(1, 4, 4), ch(1, 6, 6)}})
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 3, 5)}}) // contains 3..3 and 4..4
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 4, 5)}}) // inside 3..5: dropped
		got := allChanges(t, s, nil, 1<<20)
		want := []Change{ch(1, 3, 5), ch(1, 6, 6)}
		if !slices.EqualFunc(got, want, changeEqual) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func TestConformanceCompact(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		defer func() { closeStore(t, s) }()
		ctx := context.Background()
		for i := uint64(1); i <= 10; i++ {
			mustWrite(t, s, Batch{Changes: []Change{ch(1, i, i), ch(2, i, i)}})
		}
		snap := Snapshot{Data: bytes.Repeat([]byte("snap"), 100), Version: VersionVector{1: 10, 2: 8}, Floor: VersionVector{1: 6, 2: 4}}
		if err := s.Compact(ctx, snap); err != nil {
			t.Fatal(err)
		}
		if err := s.Compact(ctx, Snapshot{Version: VersionVector{1: 1}, Floor: VersionVector{1: 2}}); !errors.Is(err, ErrConfig) {
			t.Fatalf("floor above version: %v", err)
		}
		check := func(s Store) {
			st, err := s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.Snapshot.Data, snap.Data) || !maps.Equal(st.Snapshot.Version, snap.Version) || !maps.Equal(st.Snapshot.Floor, snap.Floor) {
				t.Fatalf("snapshot %d bytes %v %v", len(st.Snapshot.Data), st.Snapshot.Version, st.Snapshot.Floor)
			}
			if want := (VersionVector{1: 10, 2: 10}); !maps.Equal(st.Version, want) {
				t.Fatalf("version %v, want %v", st.Version, want)
			}
			if _, _, err := s.Changes(ctx, VersionVector{1: 6, 2: 3}, 100); !errors.Is(err, ErrCompacted) {
				t.Fatalf("below the floor: %v", err)
			}
			got := allChanges(t, s, snap.Floor, 1<<20)
			if len(got) != 10 || got[0].Start != 7 || got[4].Replica != 2 || got[4].Start != 5 {
				t.Fatalf("after compaction %v", got)
			}
		}
		check(s)
		if im.reopen != nil {
			s = im.reopen(t, s)
			check(s)
		}
		// A change below the floor is dropped; the floor never moves back.
		mustWrite(t, s, Batch{Changes: []Change{ch(1, 2, 2)}})
		if err := s.Compact(ctx, Snapshot{Data: []byte("x"), Version: VersionVector{1: 10}, Floor: VersionVector{1: 3}}); err != nil {
			t.Fatal(err)
		}
		st, _ := s.Load(ctx)
		if want := (VersionVector{1: 6, 2: 4}); !maps.Equal(st.Snapshot.Floor, want) {
			t.Fatalf("floor %v, want %v", st.Snapshot.Floor, want)
		}
		if got := allChanges(t, s, st.Snapshot.Floor, 1<<20); len(got) != 10 {
			t.Fatalf("changes after a lower floor: %v", got)
		}
	})
}

func TestConformanceClosed(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		s := im.open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := s.Write(ctx, Batch{}); !errors.Is(err, ErrClosed) {
			t.Errorf("Write: %v", err)
		}
		if _, err := s.Load(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Load: %v", err)
		}
		if _, _, err := s.Changes(ctx, nil, 1); !errors.Is(err, ErrClosed) {
			t.Errorf("Changes: %v", err)
		}
		if err := s.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
		if _, err := s.Write(ctx, Batch{Changes: []Change{{Replica: 1, Start: 2, End: 1}}}); !errors.Is(err, ErrConfig) {
			t.Errorf("bad range: %v", err)
		}
	})
}

// TestConformanceOracle writes random change ranges (duplicates, overlaps,
// merged ranges, gaps), compacts at random points, and compares the
// version, and Changes from random vectors, against a naive oracle that
// keeps every change and answers by scanning. Set STORE_PROP_ITERS for more.
func TestConformanceOracle(t *testing.T) {
	iters := 30
	if n, err := strconv.Atoi(os.Getenv("STORE_PROP_ITERS")); err == nil {
		iters = n
	}
	forEachImpl(t, func(t *testing.T, im impl) {
		for it := range iters {
			seed := uint64(it) + 1
			rng := rand.New(rand.NewPCG(seed, 99))
			s := im.open(t)
			runOracle(t, s, rng, seed)
			closeStore(t, s)
		}
	})
}

func runOracle(t *testing.T, s Store, rng *rand.Rand, seed uint64) {
	ctx := context.Background()
	// The oracle: per replica, a set of seqs known, and the floor.
	known := map[clock.ReplicaID]map[uint64]bool{}
	floor := VersionVector{}
	contiguous := func(r clock.ReplicaID, from uint64) uint64 {
		v := from
		for known[r][v+1] {
			v++
		}
		return v
	}
	for step := range 40 {
		if rng.IntN(8) == 0 {
			// Compact at a random point at or below the contiguous version.
			nf := VersionVector{}
			for r := range known {
				nf[r] = rng.Uint64N(contiguous(r, floor[r]) + 1)
			}
			nv := VersionVector{}
			for r := range known {
				nv[r] = max(contiguous(r, floor[r]), nf[r], floor[r])
			}
			if err := s.Compact(ctx, Snapshot{Data: []byte{byte(step)}, Version: nv, Floor: nf}); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			floor = maxVV(floor, nf)
			continue
		}
		var b Batch
		for range 1 + rng.IntN(4) {
			r := clock.ReplicaID(1 + rng.IntN(3))
			start := 1 + rng.Uint64N(12)
			c := ch(r, start, start+rng.Uint64N(3))
			b.Changes = append(b.Changes, c)
			if c.End > floor[r] {
				if known[r] == nil {
					known[r] = map[uint64]bool{}
				}
				for q := c.Start; q <= c.End; q++ {
					known[r][q] = true
				}
			}
		}
		mustWrite(t, s, b)
		st, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for r := range known {
			// Seqs at or below the floor count as held (the snapshot).
			if want := contiguous(r, floor[r]); st.Version[r] != want {
				t.Fatalf("seed %d step %d: version %v, oracle %s: %d", seed, step, st.Version, r, want)
			}
		}
		// Changes from a random vector at or above the floor: together
		// they must cover every known seq above the vector.
		since := VersionVector{}
		for r := range known {
			since[r] = floor[r] + rng.Uint64N(4)
		}
		got := allChanges(t, s, since, 1+rng.IntN(40))
		have := map[clock.ReplicaID]map[uint64]bool{}
		for _, c := range got {
			if c.End <= since[c.Replica] {
				t.Fatalf("seed %d: change %v covered by %v", seed, c, since)
			}
			if have[c.Replica] == nil {
				have[c.Replica] = map[uint64]bool{}
			}
			for q := c.Start; q <= c.End; q++ {
				have[c.Replica][q] = true
			}
		}
		for r, seqs := range known {
			for q := range seqs {
				if q > since[r] && !have[r][q] {
					t.Fatalf("seed %d step %d: seq %s:%d missing from Changes since %v", seed, step, r, q, since)
				}
			}
		}
	}
}
