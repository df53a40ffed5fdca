package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/syncmesh/syncmesh/clock"
)

func TestDiskLostDirectoryIsANewReplica(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := testConfig(dir)
	s := openDisk(t, c)
	st, _ := s.Load(context.Background())
	old := st.Replica
	mustWrite(t, s, Batch{Changes: []Change{ch(old, 1, 5)}})
	closeStore(t, s)

	s = openDisk(t, c) // same directory: same replica
	st, _ = s.Load(context.Background())
	if st.Replica != old || st.Created || st.Version[old] != 5 {
		t.Fatalf("reopen: replica %s (was %s) created=%v version %v", st.Replica, old, st.Created, st.Version)
	}
	closeStore(t, s)

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, c)
	defer closeStore(t, s)
	st, _ = s.Load(context.Background())
	if st.Replica == old || !st.Created || len(st.Version) != 0 {
		t.Fatalf("lost directory: replica %s (old %s) created=%v version %v", st.Replica, old, st.Created, st.Version)
	}
}

// corruptCase damages a closed store's file and says what Open must report.
type corruptCase struct {
	name    string
	damage  func(t *testing.T, path string)
	cfg     func(c *Config)
	want    error
	wantKey string
}

func TestDiskRefusesDamagedOrForeignData(t *testing.T) {
	marker := bytes.Repeat([]byte("MARKER-"), 40)
	cases := []corruptCase{
		{name: "truncated to half", want: ErrCorrupt, damage: func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "truncated to empty", want: ErrCorrupt, damage: func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "byte flipped in a log value", want: ErrCorrupt, wantKey: "log/", damage: func(t *testing.T, path string) {
			flipIn(t, path, marker)
		}},
		{name: "byte flipped in a snapshot chunk", want: ErrCorrupt, wantKey: "snapshot/", damage: func(t *testing.T, path string) {
			flipIn(t, path, []byte("SNAPSHOT-BYTES"))
		}},
		{name: "meta pages destroyed", want: ErrCorrupt, damage: func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 64), 16); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 64), int64(os.Getpagesize())+16); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "another mesh", want: ErrForeignMesh, wantKey: "meta/mesh", cfg: func(c *Config) { c.MeshID = []byte("other-mesh") }},
		{name: "another fingerprint", want: ErrFingerprint, wantKey: "meta/fingerprint", cfg: func(c *Config) { c.Fingerprint = []byte{9} }},
		{name: "future format", want: ErrFormat, wantKey: "meta/format", damage: func(t *testing.T, path string) {
			rewriteMeta(t, path, keyFormat, binary.BigEndian.AppendUint64(nil, formatVersion+1))
		}},
		{name: "missing replica id", want: ErrCorrupt, wantKey: "meta/replica", damage: func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyReplica) }); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t.TempDir())
			s := openDisk(t, c)
			st, _ := s.Load(context.Background())
			var cs []Change
			for i := uint64(1); i <= 200; i++ {
				cs = append(cs, Change{Replica: st.Replica, Start: i, End: i, Data: fmt.Appendf(nil, "change %d %s", i, bytes.Repeat([]byte{'x'}, 200))})
			}
			cs = append(cs, Change{Replica: 7, Start: 1, End: 1, Data: marker})
			mustWrite(t, s, Batch{Changes: cs})
			if err := s.Compact(context.Background(), Snapshot{Data: []byte("SNAPSHOT-BYTES"), Version: VersionVector{st.Replica: 100}, Floor: VersionVector{st.Replica: 50}}); err != nil {
				t.Fatal(err)
			}
			closeStore(t, s)
			if tc.damage != nil {
				tc.damage(t, s.Path())
			}
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			before := fileSum(t, s.Path())
			_, err := OpenDisk(c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			t.Log(err)
			var ce *CorruptError
			var me *MismatchError
			switch {
			case errors.As(err, &ce):
				if ce.File != s.Path() || !bytes.HasPrefix([]byte(ce.Key), []byte(tc.wantKey)) {
					t.Errorf("CorruptError file %q key %q, want %q, %q", ce.File, ce.Key, s.Path(), tc.wantKey)
				}
			case errors.As(err, &me):
				if me.File != s.Path() || me.Key != tc.wantKey {
					t.Errorf("MismatchError file %q key %q, want %q", me.File, me.Key, tc.wantKey)
				}
			default:
				t.Errorf("untyped error %T", err)
			}
			if after := fileSum(t, s.Path()); after != before {
				t.Error("a refused Open changed the file")
			}
		})
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// flipIn flips one byte inside every occurrence of marker in the file.
func flipIn(t *testing.T, path string, marker []byte) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := 0; ; n++ {
		i := bytes.Index(b[off:], marker)
		if i < 0 {
			break
		}
		b[off+i+len(marker)/2] ^= 0x01 // every copy, live or in a freed page
		off += i + len(marker)
	}
	if n == 0 {
		t.Fatal("marker not found in the file")
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rewriteMeta stores a valid record under a meta key with bbolt directly.
func rewriteMeta(t *testing.T, path string, key, payload []byte) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(key, appendRecord(nil, payload)) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestDiskLocked(t *testing.T) {
	c := testConfig(t.TempDir())
	c.LockTimeout = 50e6 // 50 ms
	s := openDisk(t, c)
	defer closeStore(t, s)
	if _, err := OpenDisk(c); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

// TestDiskGroupCommit runs 8 concurrent writers with durability on and
// checks every acknowledged change is there after a reopen, and that
// commits were shared (fewer transactions than writes).
func TestDiskGroupCommit(t *testing.T) {
	c := testConfig(t.TempDir())
	c.NoSync = false
	s := openDisk(t, c)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			r := clock.ReplicaID(w + 1)
			for i := uint64(1); i <= each; i++ {
				if err := Write(context.Background(), s, Batch{Changes: []Change{ch(r, i, i)}, Clock: clock.Timestamp{Wall: int64(i), Replica: r}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stats := s.Stats()
	txs := stats.Commits
	closeStore(t, s)
	t.Logf("%d writes in %d write transactions", writers*each, txs)
	if txs >= writers*each || stats.Writes != writers*each {
		t.Errorf("no group commit: %d transactions for %d writes", txs, writers*each)
	}
	s = openDisk(t, c)
	defer closeStore(t, s)
	st, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		if st.Version[clock.ReplicaID(w+1)] != each {
			t.Fatalf("version %v", st.Version)
		}
	}
	if st.Clock.Wall != each {
		t.Fatalf("clock %v", st.Clock)
	}
}

func TestDiskWriteContext(t *testing.T) {
	c := testConfig(t.TempDir())
	s := openDisk(t, c)
	defer closeStore(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, err := s.Write(context.Background(), Batch{Changes: []Change{ch(1, 1, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDiskRandomDamage flips random bytes of a populated file: Open either
// succeeds (the damage hit free space) or fails with a typed error; it never
// crashes the process. Set STORE_PROP_ITERS for more rounds.
func TestDiskRandomDamage(t *testing.T) {
	iters := 20
	if n, err := strconv.Atoi(os.Getenv("STORE_PROP_ITERS")); err == nil {
		iters = n
	}
	c := testConfig(t.TempDir())
	s := openDisk(t, c)
	var cs []Change
	for i := uint64(1); i <= 300; i++ {
		cs = append(cs, ch(1, i, i))
	}
	mustWrite(t, s, Batch{Changes: cs, Clock: clock.Timestamp{Wall: 5}, SetQuarantine: true, Quarantine: cs[:3]})
	if err := s.Compact(context.Background(), Snapshot{Data: bytes.Repeat([]byte("s"), 1000), Version: VersionVector{1: 200}, Floor: VersionVector{1: 100}}); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	orig, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	opened, refused := 0, 0
	for it := range iters {
		seed := uint64(it) + 1
		rng := rand.New(rand.NewPCG(seed, 7))
		b := bytes.Clone(orig)
		for range 1 + rng.IntN(8) {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		if err := os.WriteFile(s.Path(), b, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := OpenDisk(c)
		if err == nil {
			opened++
			if _, err := d.Load(context.Background()); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("seed %d: Load after damage: %v", seed, err)
			}
			closeStore(t, d)
			continue
		}
		refused++
		var ce *CorruptError
		var me *MismatchError
		if !errors.As(err, &ce) && !errors.As(err, &me) {
			t.Errorf("seed %d: untyped error %v", seed, err)
		}
	}
	t.Logf("%d opened (damage in free space), %d refused", opened, refused)
}

// TestDiskSizeFlattensWithCompaction appends rounds of changes and compacts
// after each at the newest seq: bbolt reuses the freed pages, so the file
// stops growing with the number of updates.
func TestDiskSizeFlattensWithCompaction(t *testing.T) {
	c := testConfig(t.TempDir())
	s := openDisk(t, c)
	defer closeStore(t, s)
	const rounds, perRound = 24, 2000
	var seq uint64
	sizes := make([]int64, 0, rounds)
	for range rounds {
		cs := make([]Change, 0, perRound)
		for range perRound {
			seq++
			cs = append(cs, Change{Replica: 1, Start: seq, End: seq, Data: make([]byte, 100)})
		}
		mustWrite(t, s, Batch{Changes: cs})
		v := VersionVector{1: seq}
		if err := s.Compact(context.Background(), Snapshot{Data: make([]byte, 10_000), Version: v, Floor: v}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, st.Size())
	}
	t.Logf("file size per round: %v", sizes)
	if last, early := sizes[rounds-1], sizes[rounds/4]; last > early*3/2 {
		t.Fatalf("file grew from %d to %d bytes although the log is compacted every round", early, last)
	}
}

// TestDiskQueueFullHonoursContext: with the queue full, Write waits for
// room until its context ends or the store closes.
func TestDiskQueueFullHonoursContext(t *testing.T) {
	s := &Disk{queue: make(chan *request, 1), stop: make(chan struct{})} // no committer: the queue stays full
	s.queue <- &request{ack: newAck()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Write(ctx, Batch{Changes: []Change{ch(1, 1, 1)}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("full queue, cancelled context: %v", err)
	}
	close(s.stop)
	if _, err := s.Write(context.Background(), Batch{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("full queue, closing store: %v", err)
	}
}

// TestDiskFailedStoreRefusesWrites: after a failed commit nothing later may
// become durable.
func TestDiskFailedStoreRefusesWrites(t *testing.T) {
	s := openDisk(t, testConfig(t.TempDir()))
	defer closeStore(t, s)
	s.mu.Lock()
	s.failed = errors.New("injected I/O error")
	s.mu.Unlock()
	if err := Write(context.Background(), s, Batch{Changes: []Change{ch(1, 1, 1)}}); !errors.Is(err, ErrFailed) {
		t.Fatalf("write to a failed store: %v", err)
	}
	if err := s.Compact(context.Background(), Snapshot{}); !errors.Is(err, ErrFailed) {
		t.Fatalf("compact on a failed store: %v", err)
	}
}
