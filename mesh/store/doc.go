// Package store keeps one replica's durable state: its operation log
// (encoded changes keyed by replica and sequence range, opaque to the store),
// the latest snapshot with the version vector it covers and the compaction
// floor, the clock's persisted bound, the quarantined changes, and the
// replica's identity (replica id, mesh identity, strategy fingerprint).
//
// There are two implementations of Store: Memory, the library default, and
// Disk, one bbolt file in a data directory. Open picks by Config.Dir.
//
// # Invariants
//
//  1. Prefix durability: Writes are applied in the order Write was called.
//     When a Write's Ack returns nil, that Write and every earlier one are
//     applied (and, with durability on, fsynced), so a caller that writes its
//     changes in sequence order never leaves a gap on disk.
//  2. Group commit: the Disk committer puts every Write queued while the
//     previous commit was syncing into one transaction, so concurrent
//     writers share an fsync.
//  3. Log shape: per replica, stored changes are ordered by Start and none
//     contains another (a contained change is dropped, a containing one
//     replaces what it contains), so Ends ascend too. Nothing at or below the
//     compaction floor is stored.
//  4. Version: State.Version is the snapshot's version extended by the log's
//     changes that follow on without a gap.
//  5. Monotone: the floor and the clock bound never move back.
//  6. Identity: a replica id is drawn once, when the store is created, and
//     kept with the data; a store created from nothing (a lost directory)
//     draws a new one and never reuses an old one's sequence numbers.
//  7. No silent loss: every stored value carries a CRC-32C. OpenDisk checks
//     an existing file read-only (bbolt's structure, the file's length, every
//     record, the format version, mesh identity and fingerprint) before
//     anything writes to it; a damaged or foreign file is refused with a
//     *CorruptError or *MismatchError and left as it was. A store never
//     starts empty in place of data it could not read.
//  8. Byte slices given to the store are the store's; slices it returns are
//     shared and read-only.
//
// # Usage
//
//	s, err := store.Open(cfg) // cfg.Dir "" keeps everything in memory
//	st, err := s.Load(ctx)    // replica id, snapshot, version, clock, quarantine
//	// local update, under the document lock, in sequence order:
//	ack, err := s.Write(ctx, store.Batch{Changes: []store.Change{c}, Clock: ts})
//	// outside the lock: acknowledged when durable
//	err = ack.Wait(ctx)
//	// serving a peer: the log since its version vector, in bounded batches
//	cs, more, err := s.Changes(ctx, peerVV, 1<<20)
//	// compaction at the causal-stability frontier
//	err = s.Compact(ctx, store.Snapshot{Data: snap, Version: snapVV, Floor: frontier})
//
// See docs/durability.md for the file layout and how mesh.Node uses a Store.
package store
