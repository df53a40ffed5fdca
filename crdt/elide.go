package crdt

// This file holds superseded-write elision (docs/crdt.md, "Superseded
// writes"): what the op log records at apply time about which writes a
// later write of their own author removed, so that anti-entropy can send
// runs of them as content-less gaps (Change.Elided).

// supRun records, per op seq of one author, whether the op is an
// elidable write: a plain write (an OpSet with no Ctx and no Marks whose
// Pred are all its author's) that a later op of its author at the same
// register removed, and how much later. Ops that are not plain writes,
// and seqs never recorded, read as 0 (not elidable), so losing a record
// is always safe. Two bytes per op from the first recorded one.
type supRun struct {
	base uint64           // the seq of the first record
	r    chunkRun[uint16] // supPlain, a distance to the overwriting op, or 0
}

const (
	// supPlain marks a plain write not (yet) overwritten.
	supPlain = 1<<16 - 1
	// supFar is the distance recorded for an overwrite at least that far
	// away: the overwriting seq is then not known, only that the log
	// holds it.
	supFar = 1<<16 - 2
	// supMaxHole is the longest run of unrecorded seqs the record spans:
	// past it, the record starts afresh (a fresh author's ops after a
	// snapshot, say), forgetting what it held.
	supMaxHole = 1 << 16
)

// at returns the record of seq, extending the run to it; nil if seq lies
// before the run.
func (s *supRun) at(seq uint64) *uint16 {
	n := uint64(s.r.len())
	if seq < s.base {
		if n > 0 {
			return nil
		}
		s.base = seq
	}
	i := seq - s.base
	if n == 0 || i >= n+supMaxHole {
		s.base, s.r, i, n = seq, chunkRun[uint16]{}, 0, 0
	}
	for ; n <= i; n++ {
		s.r.push(0)
	}
	return s.r.ptr(int(i))
}

// get returns the record of seq (0 when there is none).
func (s *supRun) get(seq uint64) uint16 {
	if seq < s.base || seq-s.base >= uint64(s.r.len()) {
		return 0
	}
	return s.r.at(int(seq - s.base))
}

// dropBelow forgets the records of seqs below seq.
func (s *supRun) dropBelow(seq uint64) {
	if seq <= s.base {
		return
	}
	k := seq - s.base
	if k >= uint64(s.r.len()) {
		*s = supRun{}
		return
	}
	s.r.dropFront(int(k))
	s.base = seq
}

// plain records that op id, a plain write, was applied.
func (l *memLog) plain(id OpID) {
	if p := l.author(id.Replica).sup.at(id.Seq); p != nil {
		*p = supPlain
	}
}

// overwritten records that op by removed entry old of its own author at
// the register both write.
func (l *memLog) overwritten(old, by OpID) {
	l.author(old.Replica).sup.overwrite(old.Seq, by.Seq)
}

// overwrote is overwritten and plain(by) in one.
func (l *memLog) overwrote(old, by OpID) {
	s := &l.author(old.Replica).sup
	s.overwrite(old.Seq, by.Seq)
	if p := s.at(by.Seq); p != nil {
		*p = supPlain
	}
}

func (s *supRun) overwrite(seq, by uint64) {
	if seq < s.base || seq-s.base >= uint64(s.r.len()) {
		return
	}
	if p := s.r.ptr(int(seq - s.base)); *p == supPlain {
		*p = uint16(min(by-seq, supFar))
	}
}

// until returns the seq of the op that overwrote op seq, and whether seq
// is an elidable write; far reports a distance too long to record (the
// overwriting op is then known only to be logged).
func (s *supRun) until(seq uint64) (x uint64, ok, far bool) {
	switch v := s.get(seq); v {
	case 0, supPlain:
		return 0, false, false
	case supFar:
		return 0, true, true
	default:
		return seq + uint64(v), true, false
	}
}
