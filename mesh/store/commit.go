package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/syncmesh/syncmesh/clock"
)

// maxGroup bounds how many Writes one group commit takes.
const maxGroup = 8192

// commitLoop is the committer goroutine: it takes the next queued request,
// then every request already waiting (up to MaxBatchBytes and maxGroup),
// commits them in one transaction (one fsync), and completes their Acks in
// queue order. It exits when Close has closed the queue and it is drained.
//
// Writers that wait for their Ack before writing again come back just after
// a commit ends, while the next group may already be gathered: 8 such
// writers would settle into two alternating groups of 4. So when fewer
// requests are gathered than were active when the last commit ended (its
// group plus those queued), the committer waits up to CommitWait for the
// rest before committing.
func (s *Disk) commitLoop() {
	defer close(s.done)
	group := make([]*request, 0, 64)
	active := 0
	var timer *time.Timer
	for first := range s.queue {
		group = append(group[:0], first)
		n := first.bytes
		closed := s.gather(&group, &n)
		if !closed && len(group) < active && s.cfg.CommitWait > 0 {
			if timer == nil {
				timer = time.NewTimer(s.cfg.CommitWait)
			} else {
				timer.Reset(s.cfg.CommitWait)
			}
			for !closed && len(group) < active && len(group) < maxGroup && n < s.cfg.MaxBatchBytes {
				var expired bool
				closed, expired = s.gatherOne(&group, &n, timer.C)
				if expired {
					break
				}
			}
			timer.Stop()
		}
		err := s.commit(group)
		active = len(group) + len(s.queue)
		for i, r := range group {
			r.ack.finish(err)
			group[i] = nil
		}
	}
}

// gather appends every request already queued, within the group limits.
// It reports whether the queue was closed.
func (s *Disk) gather(group *[]*request, n *int) bool {
	for len(*group) < maxGroup && *n < s.cfg.MaxBatchBytes {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return true
			}
			*group = append(*group, r)
			*n += r.bytes
		default:
			return false
		}
	}
	return false
}

// gatherOne waits for one more request or for expiry.
func (s *Disk) gatherOne(group *[]*request, n *int, expiry <-chan time.Time) (closed, expired bool) {
	select {
	case r, ok := <-s.queue:
		if !ok {
			return true, false
		}
		*group = append(*group, r)
		*n += r.bytes
		return false, false
	case <-expiry:
		return false, true
	}
}

// commit applies a group in one transaction. After a failure the store is
// failed: later groups are refused, so nothing written after a lost write
// can become durable.
func (s *Disk) commit(group []*request) error {
	s.mu.Lock()
	failed := s.failed
	version, floor := cloneVV(s.version), cloneVV(s.floor)
	s.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, failed)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := writer{s: s, tx: tx, version: version, floor: floor}
		for _, r := range group {
			var err error
			if r.compact != nil {
				err = w.compact(*r.compact)
			} else {
				err = w.batch(r.batch)
			}
			if err != nil {
				return err
			}
		}
		version, floor = w.version, w.floor
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed = err
		return fmt.Errorf("store: commit: %w", err)
	}
	s.version, s.floor = version, floor
	s.commits.Add(1)
	s.writes.Add(uint64(len(group)))
	return nil
}

// writer applies requests inside one write transaction, keeping the version
// and floor it will publish when the transaction commits.
type writer struct {
	s       *Disk
	tx      *bolt.Tx
	version VersionVector
	floor   VersionVector
}

func (w *writer) batch(b Batch) error {
	logB := w.tx.Bucket(bucketLog)
	cur := logB.Cursor()
	touched := map[clock.ReplicaID]bool{}
	for _, c := range b.Changes {
		if c.End <= w.floor[c.Replica] {
			continue
		}
		if err := insertDisk(logB, cur, c); err != nil {
			return err
		}
		touched[c.Replica] = true
	}
	for r := range touched {
		w.version[r] = extendDisk(cur, r, w.version[r])
	}
	meta := w.tx.Bucket(bucketMeta)
	if !b.Clock.IsZero() {
		old, err := reader{path: w.s.path, tx: w.tx}.clock()
		if err != nil {
			return err
		}
		if old.Less(b.Clock) {
			enc := b.Clock.Encode()
			if err := meta.Put(keyClock, appendRecord(nil, enc[:])); err != nil {
				return err
			}
		}
	}
	if b.SetQuarantine {
		if err := w.tx.DeleteBucket(bucketQuarantine); err != nil {
			return err
		}
		q, err := w.tx.CreateBucket(bucketQuarantine)
		if err != nil {
			return err
		}
		for i, c := range b.Quarantine {
			if err := q.Put(binary.BigEndian.AppendUint32(nil, uint32(i)), appendRecord(nil, appendChange(nil, c))); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertDisk stores c keeping the log's no-containment order (see
// insertLog, its in-memory twin).
func insertDisk(logB *bolt.Bucket, cur *bolt.Cursor, c Change) error {
	key := logKey(c)
	k, _ := cur.Seek(logKey(Change{Replica: c.Replica, Start: c.Start}))
	// The entry before the first with Start >= c.Start.
	var pk []byte
	if k == nil {
		pk, _ = cur.Last()
	} else {
		pk, _ = cur.Prev()
	}
	if pk != nil && binary.BigEndian.Uint64(pk) == uint64(c.Replica) && binary.BigEndian.Uint64(pk[16:]) >= c.End {
		return nil
	}
	var drop [][]byte
	k, _ = cur.Seek(logKey(Change{Replica: c.Replica, Start: c.Start}))
	for ; k != nil && binary.BigEndian.Uint64(k) == uint64(c.Replica); k, _ = cur.Next() {
		end := binary.BigEndian.Uint64(k[16:])
		if binary.BigEndian.Uint64(k[8:]) == c.Start && end >= c.End {
			return nil // a stored change with the same start contains c
		}
		if end > c.End {
			break
		}
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := logB.Delete(k); err != nil {
			return err
		}
	}
	return logB.Put(key, appendRecord(nil, c.Data))
}

// extendDisk extends v over the log entries of r that follow on from it.
func extendDisk(cur *bolt.Cursor, r clock.ReplicaID, v uint64) uint64 {
	for k, _ := seekAfter(cur, r, v); k != nil && binary.BigEndian.Uint64(k) == uint64(r); k, _ = cur.Next() {
		if binary.BigEndian.Uint64(k[8:]) > v+1 {
			break
		}
		v = binary.BigEndian.Uint64(k[16:])
	}
	return v
}

// compact installs a snapshot and truncates the log below the new floor.
func (w *writer) compact(s Snapshot) error {
	w.floor = maxVV(w.floor, s.Floor)
	meta := w.tx.Bucket(bucketMeta)
	if err := w.tx.DeleteBucket(bucketSnapshot); err != nil {
		return err
	}
	sb, err := w.tx.CreateBucket(bucketSnapshot)
	if err != nil {
		return err
	}
	sb.FillPercent = 1 // chunks are written in key order and never updated
	chunk := w.s.cfg.ChunkBytes
	for i := 0; i*chunk < len(s.Data); i++ {
		p := s.Data[i*chunk : min((i+1)*chunk, len(s.Data))]
		if err := sb.Put(binary.BigEndian.AppendUint32(nil, uint32(i)), appendRecord(nil, p)); err != nil {
			return err
		}
	}
	puts := []struct{ k, v []byte }{
		{keySnapVersion, appendVV(nil, s.Version)},
		{keySnapLen, binary.BigEndian.AppendUint64(nil, uint64(len(s.Data)))},
		{keyFloor, appendVV(nil, w.floor)},
	}
	for _, p := range puts {
		if err := meta.Put(p.k, appendRecord(nil, p.v)); err != nil {
			return err
		}
	}
	logB := w.tx.Bucket(bucketLog)
	cur := logB.Cursor()
	for _, r := range sortedReplicas(w.floor) {
		f := w.floor[r]
		var drop [][]byte
		for k, _ := cur.Seek(binary.BigEndian.AppendUint64(nil, uint64(r))); k != nil && binary.BigEndian.Uint64(k) == uint64(r); k, _ = cur.Next() {
			if binary.BigEndian.Uint64(k[16:]) > f {
				break
			}
			drop = append(drop, bytes.Clone(k))
		}
		for _, k := range drop {
			if err := logB.Delete(k); err != nil {
				return err
			}
		}
	}
	w.version = maxVV(w.version, s.Version)
	for k, _ := cur.First(); k != nil; {
		r := clock.ReplicaID(binary.BigEndian.Uint64(k))
		w.version[r] = extendDisk(cur, r, w.version[r])
		if r == ^clock.ReplicaID(0) {
			break
		}
		k, _ = cur.Seek(binary.BigEndian.AppendUint64(nil, uint64(r)+1))
	}
	return nil
}
