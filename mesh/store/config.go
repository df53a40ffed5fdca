package store

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/syncmesh/syncmesh/clock"
)

// Defaults for Config.
const (
	DefaultQueueLen      = 4096
	DefaultMaxBatchBytes = 8 << 20
	DefaultLockTimeout   = time.Second
	DefaultCommitWait    = 200 * time.Microsecond
	DefaultChunkBytes    = 1 << 20
	// MaxIdentityBytes bounds Config.MeshID and Config.Fingerprint.
	MaxIdentityBytes = 1024
)

// Config configures a Store. A Config is a plain value; Open copies it.
type Config struct {
	// Dir is the data directory. Default "": keep everything in memory (the
	// library default; nothing survives Close). Otherwise Open creates Dir if
	// needed and keeps one file in it, DataFile.
	Dir string

	// MeshID identifies the mesh the data belongs to (for example a hash of
	// the mesh name). Stored when the store is created; Open refuses a
	// directory holding another one with ErrForeignMesh. Default empty: no
	// mesh identity (then any directory written without one is accepted).
	// At most MaxIdentityBytes.
	MeshID []byte

	// Fingerprint is the document's strategy fingerprint
	// (mesh.Document.Fingerprint). Stored when the store is created; Open
	// refuses a directory written under another one with ErrFingerprint,
	// because its operations were merged under other rules. At most
	// MaxIdentityBytes.
	Fingerprint []byte

	// NoSync turns durability off: commits are not fsynced, so an
	// acknowledged write survives a process crash but not a power loss or
	// kernel crash. Default false (durable). For tests and benchmarks.
	NoSync bool

	// QueueLen is how many Writes may wait for the committer before Write
	// blocks. Default 4096: a few fsyncs' worth of updates at the target rate,
	// small enough that memory held by queued data stays modest.
	QueueLen int

	// MaxBatchBytes caps the bytes of change data one group commit takes
	// (at least one Write always goes in). Default 8 MiB: big enough to
	// amortise an fsync over thousands of small updates, small enough that a
	// commit does not stall readers for long.
	MaxBatchBytes int

	// CommitWait is how long the committer waits, before a commit, for
	// writers that were active at the previous commit and have not written
	// again yet, so that synchronous writers share commits instead of
	// alternating between two half-size groups. It waits only while fewer
	// writes are gathered than were active, so a lone writer never waits.
	// Default 200 µs: a few percent of a commit's fsyncs on a disk, longer
	// than a woken writer needs to write again. Negative: never wait.
	CommitWait time.Duration

	// LockTimeout is how long Open waits for another process to release the
	// data file before failing with ErrLocked. Default 1 s.
	LockTimeout time.Duration

	// ChunkBytes is the size of the pieces a snapshot is stored in, each
	// with its own checksum. Default 1 MiB.
	ChunkBytes int

	// Rand draws the replica id of a new store. Default nil: a ChaCha8 source
	// seeded from crypto/rand, so a node whose directory was lost never
	// draws its old id again (with probability 1 - 2^-64 per pair). Tests
	// inject a seeded source.
	Rand *rand.Rand
}

// DefaultConfig returns a Config for data directory dir ("" for memory).
func DefaultConfig(dir string) Config {
	return Config{
		Dir:           dir,
		QueueLen:      DefaultQueueLen,
		MaxBatchBytes: DefaultMaxBatchBytes,
		LockTimeout:   DefaultLockTimeout,
		CommitWait:    DefaultCommitWait,
		ChunkBytes:    DefaultChunkBytes,
	}
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	switch {
	case len(c.MeshID) > MaxIdentityBytes:
		return fmt.Errorf("%w: MeshID is %d bytes, more than %d", ErrConfig, len(c.MeshID), MaxIdentityBytes)
	case len(c.Fingerprint) > MaxIdentityBytes:
		return fmt.Errorf("%w: Fingerprint is %d bytes, more than %d", ErrConfig, len(c.Fingerprint), MaxIdentityBytes)
	case c.QueueLen < 0:
		return fmt.Errorf("%w: QueueLen %d is negative", ErrConfig, c.QueueLen)
	case c.MaxBatchBytes < 0:
		return fmt.Errorf("%w: MaxBatchBytes %d is negative", ErrConfig, c.MaxBatchBytes)
	case c.LockTimeout < 0:
		return fmt.Errorf("%w: LockTimeout %v is negative", ErrConfig, c.LockTimeout)
	case c.ChunkBytes < 0:
		return fmt.Errorf("%w: ChunkBytes %d is negative", ErrConfig, c.ChunkBytes)
	}
	return nil
}

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	if c.QueueLen == 0 {
		c.QueueLen = DefaultQueueLen
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.ChunkBytes == 0 {
		c.ChunkBytes = DefaultChunkBytes
	}
	if c.CommitWait == 0 {
		c.CommitWait = DefaultCommitWait
	}
	return c
}

// newReplicaID draws a non-zero replica id.
func (c Config) newReplicaID() clock.ReplicaID {
	r := c.Rand
	if r == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails on supported platforms (Go 1.24+ panics instead)
		r = rand.New(rand.NewChaCha8(seed))
	}
	for {
		if id := clock.ReplicaID(r.Uint64()); id != 0 {
			return id
		}
	}
}

// Open opens the store c describes: in memory when c.Dir is "", otherwise
// the on-disk store in c.Dir (see OpenDisk).
func Open(c Config) (Store, error) {
	if c.Dir == "" {
		return NewMemory(c)
	}
	return OpenDisk(c)
}
