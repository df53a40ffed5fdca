package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/syncmesh/syncmesh/clock"
)

// DataFile is the name of the data file inside Config.Dir.
const DataFile = "syncmesh.db"

// Bucket and meta key names of the data file (see docs/durability.md).
var (
	bucketMeta       = []byte("meta")
	bucketLog        = []byte("log")
	bucketSnapshot   = []byte("snapshot")
	bucketQuarantine = []byte("quarantine")

	keyFormat      = []byte("format")
	keyMesh        = []byte("mesh")
	keyFingerprint = []byte("fingerprint")
	keyReplica     = []byte("replica")
	keyClock       = []byte("clock")
	keyFloor       = []byte("floor")
	keySnapVersion = []byte("snapshot_version")
	keySnapLen     = []byte("snapshot_len")
)

// Disk is the on-disk Store: one bbolt file in the data directory. Writes
// go through one committer goroutine that takes every Write queued while
// the previous commit was syncing into one transaction and one fsync (group
// commit). A Disk is safe for concurrent use.
type Disk struct {
	cfg  Config
	path string
	db   *bolt.DB

	commits, writes atomic.Uint64

	mu      sync.Mutex // guards the fields below
	created bool
	replica clock.ReplicaID
	version VersionVector
	floor   VersionVector
	failed  error

	sendMu   sync.RWMutex // Write holds it shared while sending; Close exclusively
	closed   bool         // guarded by sendMu
	queue    chan *request
	stop     chan struct{} // closed by Close: unblocks Writes waiting for room
	stopOnce sync.Once
	done     chan struct{} // closed when the committer has exited
}

var _ Store = (*Disk)(nil)

// request is one queued Write or Compact.
type request struct {
	batch   Batch
	compact *Snapshot
	ack     *Ack
	bytes   int
}

// OpenDisk opens (or creates) the store in c.Dir. An existing file is checked
// first, read-only: its structure, every record's checksum, its format
// version, mesh identity and fingerprint. A damaged or foreign file is
// refused with a *CorruptError or *MismatchError and left untouched. A
// missing file (a new node, or a lost directory) creates a new store with a
// fresh replica id.
func OpenDisk(c Config) (*Disk, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Dir == "" {
		return nil, fmt.Errorf("%w: OpenDisk needs a Dir", ErrConfig)
	}
	c = c.withDefaults()
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	s := &Disk{cfg: c, path: filepath.Join(c.Dir, DataFile)}
	var v *verified
	switch _, err := os.Stat(s.path); {
	case err == nil:
		if v, err = verifyFile(s.path, c); err != nil {
			return nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("store: data file: %w", err)
	}
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: c.LockTimeout, NoSync: c.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, openError(s.path, err)
	}
	s.db = db
	if v == nil || v.empty {
		if v, err = s.create(); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	s.replica, s.version, s.floor = v.replica, v.version, v.floor
	s.queue = make(chan *request, c.QueueLen)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.commitLoop()
	return s, nil
}

// openError maps bbolt's open errors.
func openError(path string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return &CorruptError{File: path, Detail: err.Error()}
	}
	return fmt.Errorf("store: open %s: %w", path, err)
}

// create writes a new store's identity in one transaction.
func (s *Disk) create() (*verified, error) {
	v := &verified{replica: s.cfg.newReplicaID(), version: VersionVector{}, floor: VersionVector{}}
	err := s.db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketLog, bucketSnapshot, bucketQuarantine} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		puts := []struct{ k, v []byte }{
			{keyFormat, binary.BigEndian.AppendUint64(nil, formatVersion)},
			{keyMesh, s.cfg.MeshID},
			{keyFingerprint, s.cfg.Fingerprint},
			{keyReplica, binary.BigEndian.AppendUint64(nil, uint64(v.replica))},
			{keyFloor, appendVV(nil, nil)},
			{keySnapVersion, appendVV(nil, nil)},
			{keySnapLen, binary.BigEndian.AppendUint64(nil, 0)},
		}
		for _, p := range puts {
			if err := m.Put(p.k, appendRecord(nil, p.v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create %s: %w", s.path, err)
	}
	s.created = true
	return v, nil
}

// Load implements Store. It reads the snapshot, clock bound and quarantine
// from the file; the returned slices are copies owned by the caller.
func (s *Disk) Load(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	st := &State{Replica: s.replica, Created: s.created, Version: cloneVV(s.version)}
	s.mu.Unlock()
	err := s.db.View(func(tx *bolt.Tx) error {
		r := reader{path: s.path, tx: tx}
		var err error
		if st.Clock, err = r.clock(); err != nil {
			return err
		}
		if st.Snapshot, err = r.snapshot(true); err != nil {
			return err
		}
		st.Quarantine, err = r.quarantine()
		return err
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Write implements Store.
func (s *Disk) Write(ctx context.Context, b Batch) (*Ack, error) {
	if err := checkBatch(b); err != nil {
		return nil, err
	}
	n := 0
	for _, c := range b.Changes {
		n += len(c.Data)
	}
	return s.enqueue(ctx, &request{batch: b, ack: newAck(), bytes: n})
}

func (s *Disk) enqueue(ctx context.Context, r *request) (*Ack, error) {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	select {
	case s.queue <- r:
		return r.ack, nil
	default:
	}
	select {
	case s.queue <- r:
		return r.ack, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, ErrClosed
	}
}

// Changes implements Store.
func (s *Disk) Changes(ctx context.Context, since VersionVector, maxBytes int) ([]Change, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var sel selection
	more := false
	err := s.db.View(func(tx *bolt.Tx) error {
		r := reader{path: s.path, tx: tx}
		floor, err := r.vv(keyFloor)
		if err != nil {
			return err
		}
		if err := checkFloor(floor, since); err != nil {
			return err
		}
		cur := tx.Bucket(bucketLog).Cursor()
		k, _ := cur.First()
		for k != nil {
			rep := clock.ReplicaID(binary.BigEndian.Uint64(k))
			ek, ev := seekAfter(cur, rep, since[rep])
			for ; ek != nil && clock.ReplicaID(binary.BigEndian.Uint64(ek)) == rep; ek, ev = cur.Next() {
				c, err := r.logEntry(ek, ev)
				if err != nil {
					return err
				}
				if !sel.add(c, maxBytes) {
					more = true
					return nil
				}
				sel.out[len(sel.out)-1].Data = bytes.Clone(c.Data) // the mmap ends with the transaction
			}
			if rep == ^clock.ReplicaID(0) {
				break
			}
			k, _ = cur.Seek(binary.BigEndian.AppendUint64(nil, uint64(rep)+1))
		}
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return nil, false, ErrClosed
	}
	if err != nil {
		return nil, false, err
	}
	return sel.out, more, nil
}

// Compact implements Store.
func (s *Disk) Compact(ctx context.Context, snap Snapshot) error {
	if err := checkSnapshot(snap); err != nil {
		return err
	}
	a, err := s.enqueue(ctx, &request{compact: &snap, ack: newAck(), bytes: len(snap.Data)})
	if err != nil {
		return err
	}
	return a.Wait(ctx)
}

// Close implements Store: it commits what is queued, then closes the file.
func (s *Disk) Close() error {
	// Unblock Writes waiting for room first: they hold sendMu shared.
	s.stopOnce.Do(func() { close(s.stop) })
	s.sendMu.Lock()
	if s.closed {
		s.sendMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.queue)
	s.sendMu.Unlock()
	<-s.done
	return s.db.Close()
}

// DiskStats counts the committer's work since Open.
type DiskStats struct {
	// Commits is the number of transactions (fsyncs, with durability on).
	Commits uint64
	// Writes is the number of Writes and Compacts committed.
	Writes uint64
}

// Stats returns the committer's counters. Safe for concurrent use.
func (s *Disk) Stats() DiskStats {
	return DiskStats{Commits: s.commits.Load(), Writes: s.writes.Load()}
}

// Path returns the data file's path.
func (s *Disk) Path() string { return s.path }

// seekAfter positions cur on the first log entry of replica r with End >
// seq and returns it, or a key of another replica (or nil) when there is
// none. It relies on the log's order: per replica, Starts and Ends ascend.
func seekAfter(cur *bolt.Cursor, r clock.ReplicaID, seq uint64) ([]byte, []byte) {
	start := seq + 1
	if start == 0 { // seq is the largest uint64: nothing is after it
		start = seq
	}
	k, v := cur.Seek(logKey(Change{Replica: r, Start: start}))
	var pk []byte
	if k == nil {
		pk, _ = cur.Last()
	} else {
		pk, _ = cur.Prev()
	}
	first := k
	for pk != nil && binary.BigEndian.Uint64(pk) == uint64(r) && binary.BigEndian.Uint64(pk[16:]) > seq {
		first = pk
		pk, _ = cur.Prev()
	}
	if first == nil {
		return nil, nil
	}
	k, v = cur.Seek(first)
	return k, v
}

// reader decodes the file's records inside one transaction, naming the file
// and key in every error.
type reader struct {
	path string
	tx   *bolt.Tx
}

func (r reader) corrupt(bucket, key []byte, err error) error {
	return &CorruptError{File: r.path, Key: string(bucket) + "/" + keyName(bucket, key), Detail: err.Error()}
}

// keyName prints a key readably: log keys as replica/start/end, chunk and
// quarantine indexes as numbers, meta keys as text.
func keyName(bucket, key []byte) string {
	switch {
	case bytes.Equal(bucket, bucketLog) && len(key) == logKeyLen:
		return fmt.Sprintf("%s/%d..%d", clock.ReplicaID(binary.BigEndian.Uint64(key)), binary.BigEndian.Uint64(key[8:]), binary.BigEndian.Uint64(key[16:]))
	case (bytes.Equal(bucket, bucketSnapshot) || bytes.Equal(bucket, bucketQuarantine)) && len(key) == 4:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(key)), 10)
	case bytes.Equal(bucket, bucketMeta):
		return string(key)
	}
	return hex.EncodeToString(key)
}

// meta returns the payload of a meta record.
func (r reader) meta(key []byte) ([]byte, error) {
	m := r.tx.Bucket(bucketMeta)
	if m == nil {
		return nil, &CorruptError{File: r.path, Key: "meta", Detail: "bucket missing"}
	}
	v := m.Get(key)
	if v == nil {
		return nil, r.corrupt(bucketMeta, key, errors.New("missing"))
	}
	p, err := decodeRecord(v)
	if err != nil {
		return nil, r.corrupt(bucketMeta, key, err)
	}
	return p, nil
}

func (r reader) uint64(key []byte) (uint64, error) {
	p, err := r.meta(key)
	if err != nil {
		return 0, err
	}
	n, err := decodeUint64(p)
	if err != nil {
		return 0, r.corrupt(bucketMeta, key, err)
	}
	return n, nil
}

func (r reader) vv(key []byte) (VersionVector, error) {
	p, err := r.meta(key)
	if err != nil {
		return nil, err
	}
	v, err := decodeVV(p)
	if err != nil {
		return nil, r.corrupt(bucketMeta, key, err)
	}
	return v, nil
}

func (r reader) clock() (clock.Timestamp, error) {
	v := r.tx.Bucket(bucketMeta).Get(keyClock)
	if v == nil {
		return clock.Timestamp{}, nil
	}
	p, err := r.meta(keyClock)
	if err != nil {
		return clock.Timestamp{}, err
	}
	t, err := decodeClock(p)
	if err != nil {
		return clock.Timestamp{}, r.corrupt(bucketMeta, keyClock, err)
	}
	return t, nil
}

func (r reader) logEntry(k, v []byte) (Change, error) {
	c, err := decodeLogKey(k)
	if err != nil {
		return Change{}, r.corrupt(bucketLog, k, err)
	}
	if c.Data, err = decodeRecord(v); err != nil {
		return Change{}, r.corrupt(bucketLog, k, err)
	}
	return c, nil
}

func (r reader) bucket(name []byte) (*bolt.Bucket, error) {
	b := r.tx.Bucket(name)
	if b == nil {
		return nil, &CorruptError{File: r.path, Key: string(name), Detail: "bucket missing"}
	}
	return b, nil
}

// snapshot reads the snapshot's version, floor and (when data is true) its
// chunks, checking each chunk's checksum, their sequence and total length.
func (r reader) snapshot(data bool) (Snapshot, error) {
	var s Snapshot
	var err error
	if s.Version, err = r.vv(keySnapVersion); err != nil {
		return s, err
	}
	if s.Floor, err = r.vv(keyFloor); err != nil {
		return s, err
	}
	total, err := r.uint64(keySnapLen)
	if err != nil {
		return s, err
	}
	b, err := r.bucket(bucketSnapshot)
	if err != nil {
		return s, err
	}
	if data && total > 0 {
		if total > 1<<40 {
			return s, r.corrupt(bucketMeta, keySnapLen, fmt.Errorf("snapshot length %d is implausible", total))
		}
		s.Data = make([]byte, 0, total)
	}
	var n uint64
	var i uint32
	err = b.ForEach(func(k, v []byte) error {
		if len(k) != 4 || binary.BigEndian.Uint32(k) != i {
			return r.corrupt(bucketSnapshot, k, fmt.Errorf("chunk out of sequence, want %d", i))
		}
		i++
		p, err := decodeRecord(v)
		if err != nil {
			return r.corrupt(bucketSnapshot, k, err)
		}
		n += uint64(len(p))
		if n > total {
			return r.corrupt(bucketSnapshot, k, fmt.Errorf("chunks exceed the snapshot length %d", total))
		}
		if data {
			s.Data = append(s.Data, p...)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if n != total {
		return s, r.corrupt(bucketMeta, keySnapLen, fmt.Errorf("chunks hold %d bytes, want %d", n, total))
	}
	return s, nil
}

// quarantine reads the quarantined changes (copies).
func (r reader) quarantine() ([]Change, error) {
	b, err := r.bucket(bucketQuarantine)
	if err != nil {
		return nil, err
	}
	var out []Change
	err = b.ForEach(func(k, v []byte) error {
		p, err := decodeRecord(v)
		if err != nil {
			return r.corrupt(bucketQuarantine, k, err)
		}
		c, err := decodeChange(p)
		if err != nil {
			return r.corrupt(bucketQuarantine, k, err)
		}
		c.Data = bytes.Clone(c.Data)
		out = append(out, c)
		return nil
	})
	return out, err
}

// sortedReplicas returns v's replicas in ascending order.
func sortedReplicas(v VersionVector) []clock.ReplicaID {
	rs := make([]clock.ReplicaID, 0, len(v))
	for r := range v {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}
