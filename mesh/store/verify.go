package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/syncmesh/syncmesh/clock"
)

// verified is what the open-time check learned from an existing file.
type verified struct {
	empty   bool // a bbolt file without our buckets: creation never committed
	replica clock.ReplicaID
	version VersionVector
	floor   VersionVector
}

// bbolt's file layout, as far as the pre-check reads it: two meta pages at
// the start, each a 16-byte page header then the meta fields.
const (
	boltMagic       = 0xED0CDAED
	boltPageHeader  = 16
	boltMetaLen     = 56 // magic .. txid, the bytes the checksum covers
	boltMinFileSize = 4 * 512
)

// verifyFile checks an existing data file without writing to it: bbolt's
// meta pages against the file's length (a truncated file), bbolt's own page
// consistency check, then every record of ours. It reads under
// debug.SetPanicOnFault, so a page beyond the end of a damaged file is
// reported as corruption instead of crashing the process.
func verifyFile(path string, c Config) (v *verified, err error) {
	if err := checkBoltMeta(path); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, &CorruptError{File: path, Detail: fmt.Sprintf("reading the file failed: %v", p)}
		}
	}()
	// PreLoadFreelist: read the freelist here, under SetPanicOnFault.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: c.LockTimeout, PreLoadFreelist: true})
	if err != nil {
		return nil, openError(path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		// First touch every page of the tree from this goroutine, where a
		// fault is recoverable; bbolt's Check runs in a goroutine of its
		// own, so it must only see a tree already known to be in bounds.
		if err := touchAll(path, tx); err != nil {
			return err
		}
		if v, err = verifyRecords(reader{path: path, tx: tx}, c); err != nil {
			return err
		}
		for cerr := range tx.Check() {
			if err == nil {
				err = &CorruptError{File: path, Detail: "bbolt check: " + cerr.Error()}
			}
		}
		return err
	})
	return v, err
}

// touchAll reads every key and value of every bucket. Our buckets hold no
// nested buckets, so one is corruption.
func touchAll(path string, tx *bolt.Tx) error {
	var sum byte
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return &CorruptError{File: path, Key: string(name) + "/" + keyName(name, k), Detail: "unexpected nested bucket"}
			}
			for _, x := range k {
				sum ^= x
			}
			for _, x := range v {
				sum ^= x
			}
			return nil
		})
	})
}

// checkBoltMeta reads bbolt's two meta pages and checks that the newer valid
// one does not reference pages beyond the end of the file.
func checkBoltMeta(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: data file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: data file: %w", err)
	}
	size := st.Size()
	if size < boltMinFileSize {
		return &CorruptError{File: path, Detail: fmt.Sprintf("file is %d bytes, too short to be a data file (truncated?)", size)}
	}
	head := make([]byte, boltPageHeader+boltMetaLen+8)
	if _, err := f.ReadAt(head, 0); err != nil {
		return &CorruptError{File: path, Detail: "reading the first meta page: " + err.Error()}
	}
	var best *boltMeta
	if m, ok := parseBoltMeta(head); ok {
		best = &m
	}
	pageSize := int64(binary.LittleEndian.Uint32(head[boltPageHeader+8:]))
	if best != nil {
		pageSize = int64(best.pageSize)
	}
	if pageSize >= 512 && pageSize <= 1<<20 {
		second := make([]byte, len(head))
		if _, err := f.ReadAt(second, pageSize); err == nil || errors.Is(err, io.EOF) {
			if m, ok := parseBoltMeta(second); ok && (best == nil || m.txid > best.txid) {
				best = &m
			}
		}
	}
	if best == nil {
		return &CorruptError{File: path, Detail: "no valid bbolt meta page (not a data file, or damaged)"}
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return &CorruptError{File: path, Detail: fmt.Sprintf("file is %d bytes but its pages reach %d (truncated)", size, need)}
	}
	return nil
}

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

// parseBoltMeta decodes one meta page (little-endian, as bbolt writes on
// the platforms we support) and checks its magic and FNV-64a checksum.
func parseBoltMeta(p []byte) (boltMeta, bool) {
	m := p[boltPageHeader:]
	if binary.LittleEndian.Uint32(m) != boltMagic {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	_, _ = h.Write(m[:boltMetaLen])
	if h.Sum64() != binary.LittleEndian.Uint64(m[boltMetaLen:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: binary.LittleEndian.Uint32(m[8:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, true
}

// verifyRecords checks our layout in tx: format version first, then mesh
// identity and fingerprint, then every record's checksum; it returns the
// replica id, floor and version.
func verifyRecords(r reader, c Config) (*verified, error) {
	if r.tx.Bucket(bucketMeta) == nil {
		empty := true
		_ = r.tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if empty {
			return &verified{empty: true}, nil
		}
	}
	format, err := r.uint64(keyFormat)
	if err != nil {
		return nil, err
	}
	if format > formatVersion || format == 0 {
		return nil, &MismatchError{Err: ErrFormat, File: r.path, Key: "meta/format",
			Stored: strconv.FormatUint(format, 10), Want: strconv.Itoa(formatVersion)}
	}
	for _, id := range []struct {
		key  []byte
		want []byte
		err  error
	}{{keyMesh, c.MeshID, ErrForeignMesh}, {keyFingerprint, c.Fingerprint, ErrFingerprint}} {
		stored, err := r.meta(id.key)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(stored, id.want) {
			return nil, &MismatchError{Err: id.err, File: r.path, Key: "meta/" + string(id.key),
				Stored: hexOrNone(stored), Want: hexOrNone(id.want)}
		}
	}
	v := &verified{}
	rep, err := r.uint64(keyReplica)
	if err != nil {
		return nil, err
	}
	if rep == 0 {
		return nil, r.corrupt(bucketMeta, keyReplica, errors.New("replica id is zero"))
	}
	v.replica = clock.ReplicaID(rep)
	if _, err := r.clock(); err != nil {
		return nil, err
	}
	snap, err := r.snapshot(false)
	if err != nil {
		return nil, err
	}
	v.floor = snap.Floor
	if _, err := r.quarantine(); err != nil {
		return nil, err
	}
	v.version = cloneVV(snap.Version)
	v.version = maxVV(v.version, v.floor)
	logB, err := r.bucket(bucketLog)
	if err != nil {
		return nil, err
	}
	var prev Change
	err = logB.ForEach(func(k, val []byte) error {
		c, err := r.logEntry(k, val)
		if err != nil {
			return err
		}
		if c.Replica == prev.Replica && (c.End <= prev.End || c.Start == prev.Start) {
			return r.corrupt(bucketLog, k, fmt.Errorf("range and the previous one (%d..%d) contain one another", prev.Start, prev.End))
		}
		if c.End <= v.floor[c.Replica] {
			return r.corrupt(bucketLog, k, fmt.Errorf("range is below the compaction floor %d", v.floor[c.Replica]))
		}
		if c.Start <= v.version[c.Replica]+1 && c.End > v.version[c.Replica] {
			v.version[c.Replica] = c.End
		}
		prev = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func hexOrNone(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	return hex.EncodeToString(b)
}
