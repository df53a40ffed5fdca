package crdt

import (
	"fmt"

	"github.com/syncmesh/syncmesh/clock"
)

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
	a := l.author(old.Replica)
	if a.sup.overwrite(old.Seq, by.Seq) {
		a.elide, l.elide = true, true
	}
}

// overwrote is overwritten and plain(by) in one.
func (l *memLog) overwrote(old, by OpID) {
	a := l.author(old.Replica)
	if a.sup.overwrite(old.Seq, by.Seq) {
		a.elide, l.elide = true, true
	}
	if p := a.sup.at(by.Seq); p != nil {
		*p = supPlain
	}
}

// overwrite records that op by overwrote op seq; it reports whether seq
// was a plain write (and so is now elidable).
func (s *supRun) overwrite(seq, by uint64) bool {
	if seq < s.base || seq-s.base >= uint64(s.r.len()) {
		return false
	}
	if p := s.r.ptr(int(seq - s.base)); *p == supPlain {
		*p = uint16(min(by-seq, supFar))
		return true
	}
	return false
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

// validGap checks a gap's fields: no ops, a span that does not overflow,
// and Until above it.
func validGap(start, elided, until uint64, ops int) error {
	switch end := start + elided - 1; {
	case ops != 0:
		return fmt.Errorf("%w: a gap carries no ops", ErrMalformed)
	case end < start:
		return fmt.Errorf("%w: gap sequence overflow", ErrMalformed)
	case until <= end:
		return fmt.Errorf("%w: gap Until %d not above its end %d", ErrMalformed, until, end)
	}
	return nil
}

// Serving. An anti-entropy reply (since, encodedSince, appendSince) sends
// each run of consecutive elidable changes of an author as one gap, but a
// gap only if the reply also reaches every op that overwrote what it stands
// for (its Until): a receiver that got the gap without them would hold the
// elided writes' predecessors where a replica that got the writes holds
// the writes, until they arrive. An elidable change of this log whose
// overwriting op lies past the reply's end is sent whole; a gap this log
// received is sent on only within a reply that reaches its Until (the
// author's part of the reply ends before it otherwise).

// gapWireSize and gapMemSize estimate a gap's size in a reply, for byte
// limits: its message's length (30 bytes for small ids), and what
// changeSize says of a change with no ops.
const (
	gapWireSize = 32
	gapMemSize  = 48
)

// gapSize returns a gap's size for the byte limit.
func (p *replyPlan) gapSize() int {
	if p.wire {
		return gapWireSize
	}
	return gapMemSize
}

// replyItem is one element of a reply: change k of author a as logged, or
// (gap >= 0) the planner's gap number gap.
type replyItem struct {
	a   *logAuthor
	k   int
	gap int
}

// replyPlan collects a reply's items.
type replyPlan struct {
	l        *memLog
	maxBytes int           // <= 0: no limit
	upTo     VersionVector // per replica, the greatest seq to send (nil: no cap)
	wire     bool          // sizes are message lengths (else a.size's estimates)
	items    []replyItem
	gaps     []Change
	size     int
	full     bool // the byte limit was reached
}

// elides reports whether any author vv lacks changes of may have changes
// to elide (or gaps), so that a reply needs planning.
func (l *memLog) elides(vv VersionVector) bool {
	if l.whole || !l.elide {
		return false
	}
	for a := range l.lacking(vv) {
		if a.elide {
			return true
		}
	}
	return false
}

// plan plans the reply to vv. A wire plan (its gaps encoded as soon as
// the reply is made) is the log's, reused by the next one.
func (l *memLog) plan(vv VersionVector, maxBytes int, wire bool, upTo VersionVector) *replyPlan {
	p := &replyPlan{}
	if wire {
		if l.wirePlan == nil {
			l.wirePlan = &replyPlan{}
		}
		p = l.wirePlan
		if cap(p.items) > 1<<16 {
			p.items, p.gaps = nil, nil // do not keep a long reply's room
		}
	}
	*p = replyPlan{l: l, maxBytes: maxBytes, upTo: upTo, wire: wire, items: p.items[:0], gaps: p.gaps[:0]}
	for a, i := range l.lacking(vv) {
		p.author(a, i, vv[a.r])
		if p.full {
			break
		}
	}
	return p
}

// author adds author a's part from change i (the reader has have).
func (p *replyPlan) author(a *logAuthor, i int, have uint64) {
	top := a.end
	if c, capped := p.upTo[a.r]; capped && c < top {
		top = c
	}
	if top <= have {
		return
	}
	if !a.elide {
		// Nothing to elide: every change whole, up to the byte limit.
		p.build(a, i, have, top, true)
		return
	}
	bound, short := top, false
	if p.maxBytes > 0 {
		var ok bool
		if bound, ok, short = p.cut(a, i, have, top); !ok {
			if len(p.items) == 0 {
				// Nothing fits, and the reply is empty: it holds the
				// least that may go, over the byte limit (as a reply
				// always holds one change).
				p.least(a, i, have, top)
			}
			p.full = true
			return
		}
	}
	limit := p.maxBytes
	p.maxBytes = 0 // cut has checked the size
	items, gaps, size := len(p.items), len(p.gaps), p.size
	for {
		end := p.build(a, i, have, bound, false)
		if end >= bound || end <= have {
			break
		}
		// A gap received whose Until this log does not reach ended the
		// part early: what it elides must be overwritten by its end.
		p.items, p.gaps, p.size, bound = p.items[:items], p.gaps[:gaps], size, end
	}
	p.maxBytes = limit
	p.full = p.full || short
}

// cut returns the greatest end seq (of one of a's changes from i, up to
// top) up to which a's part of the reply fits the byte limit, eliding every
// elidable change whose overwriting ops are up to it too; ok is false if
// none fits, and short says that the limit left out changes up to top.
// The part's size is kept as the end moves on, change by change: a new
// change counts whole, and an elidable one turns into (part of) a gap once
// the end reaches its Until (a gap received, which has no whole form,
// makes every end before its Until unusable). The walk stops where the
// changes that never turn into gaps alone exceed the limit.
func (p *replyPlan) cut(a *logAuthor, i int, have, top uint64) (bound uint64, ok, short bool) {
	room := p.maxBytes - p.size
	w := &p.l.cutRoom
	defer w.reset()
	sizes, elided, waiting := w.sizes[:0], w.elided[:0], &w.waiting
	var (
		whole   int // the whole changes' bytes
		fixed   int // the bytes of those that stay whole
		runs    int // gaps
		blocked int // gaps received whose Until is past the end
	)
	last := have // the end of the last change walked
	for k := i; k < a.len(); k++ {
		h := a.header(k)
		if h.end > top {
			break
		}
		last = h.end
		n := len(sizes)
		switch {
		case h.elided > 0:
			sizes = append(sizes, 0)
			waiting.push(h.until, n)
			blocked++
		default:
			sz := p.sizeOf(a, k)
			sizes = append(sizes, sz)
			whole += sz
			if until, el := a.elidable(h.start, h.end); el {
				waiting.push(until, n)
			} else {
				fixed += sz
			}
		}
		elided = append(elided, false)
		for len(*waiting) > 0 && (*waiting)[0].until <= h.end {
			x := waiting.pop()
			elided[x] = true
			whole -= sizes[x]
			if sizes[x] == 0 {
				blocked--
			}
			runs++
			if x > 0 && elided[x-1] {
				runs--
			}
			if x+1 < len(elided) && elided[x+1] {
				runs--
			}
		}
		if blocked == 0 && whole+runs*p.gapSize() <= room {
			bound, ok = h.end, true
		}
		if fixed > room || len(sizes) > cutWalk && ok {
			short = k+1 < a.len() && a.header(k+1).end <= top
			break
		}
	}
	w.sizes, w.elided = sizes, elided
	return bound, ok, short || bound < last
}

// cutWalk is how many changes cut looks at, once some end fits, before it
// stops looking for a greater one: an elidable change turns into a gap
// only when the end reaches its overwriting op, which may be arbitrarily
// far, so the walk could go to the log's end for every piece of a reply
// that is asked for piece by piece.
const cutWalk = 4096

// cutRoom is cut's room, kept by the log between calls.
type cutRoom struct {
	sizes   []int  // each change's whole size (0: a gap received)
	elided  []bool // whether it is elided at the current end
	waiting untilHeap
}

func (w *cutRoom) reset() {
	if cap(w.sizes) > 1<<16 {
		*w = cutRoom{} // do not keep a long walk's room
		return
	}
	w.sizes, w.elided, w.waiting = w.sizes[:0], w.elided[:0], w.waiting[:0]
}

// untilHeap is a min-heap of changes (by index) waiting for the reply's
// end to reach their Until.
type untilHeap []struct {
	until uint64
	k     int
}

func (q *untilHeap) push(until uint64, k int) {
	*q = append(*q, struct {
		until uint64
		k     int
	}{until, k})
	h := *q
	for c := len(h) - 1; c > 0; {
		par := (c - 1) / 2
		if h[par].until <= h[c].until {
			break
		}
		h[par], h[c] = h[c], h[par]
		c = par
	}
}

func (q *untilHeap) pop() int {
	h := *q
	top := h[0].k
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for c := 0; ; {
		m, l, r := c, 2*c+1, 2*c+2
		if l < len(h) && h[l].until < h[m].until {
			m = l
		}
		if r < len(h) && h[r].until < h[m].until {
			m = r
		}
		if m == c {
			break
		}
		h[m], h[c] = h[c], h[m]
		c = m
	}
	*q = h
	return top
}

// least plans a's part of an empty reply without the byte limit: change
// i (reaching past have) or, if it is a gap received, everything up to its
// Until, and so on for gaps received on the way. Nothing if this log does
// not reach that far yet (an overwriting op waits in the pending buffer).
func (p *replyPlan) least(a *logAuthor, i int, have, top uint64) {
	need := uint64(0)
	for k := i; k < a.len(); k++ {
		h := a.header(k)
		if k > i && h.start > need {
			break
		}
		need = max(need, h.end)
		if h.elided > 0 {
			need = max(need, h.until)
		}
	}
	if need > top {
		return
	}
	limit := p.maxBytes
	p.maxBytes = 0
	p.build(a, i, have, need, !a.elide)
	p.maxBytes, p.full = limit, limit > 0
}

// build adds a's changes from i whose ends are at most bound, eliding
// (unless whole) those whose overwriting ops are at most bound too, and
// returns the end of the last one added. It stops at the byte limit (and
// sets full) or at a gap it may not send.
func (p *replyPlan) build(a *logAuthor, i int, have, bound uint64, whole bool) uint64 {
	last := have
	gap := -1 // the open gap's index in p.gaps
	flush := func() bool {
		if gap < 0 {
			return true
		}
		g := &p.gaps[gap]
		if !p.add(replyItem{a: a, gap: gap}, p.gapSize()) {
			p.gaps = p.gaps[:gap]
			return false
		}
		last, gap = g.EndSeq(), -1
		return true
	}
	for k := i; k < a.len(); k++ {
		h := a.header(k)
		if h.end > bound {
			break
		}
		until, ok := h.until, h.elided > 0
		switch {
		case ok && until > bound:
			// A gap received, whose overwriting ops this reply would not
			// carry: the author's part ends before it.
			flush()
			return last
		case !ok && !whole:
			until, ok = a.elidable(h.start, h.end)
			ok = ok && until <= bound
		}
		if ok {
			start := max(h.start, have+1)
			if gap < 0 {
				p.gaps = append(p.gaps, Change{Replica: a.r, StartSeq: start, Timestamp: h.ts})
				gap = len(p.gaps) - 1
			}
			g := &p.gaps[gap]
			g.Elided = h.end - g.StartSeq + 1
			g.Until = max(g.Until, until)
			if g.Timestamp.Less(h.ts) {
				g.Timestamp = h.ts
			}
			continue
		}
		if !flush() || !p.add(replyItem{a: a, k: k, gap: -1}, p.sizeOf(a, k)) {
			return last
		}
		last = h.end
	}
	flush()
	return last
}

// add appends it (of size sz) unless the byte limit is reached (then it
// sets full).
func (p *replyPlan) add(it replyItem, sz int) bool {
	if p.maxBytes > 0 && len(p.items) > 0 && p.size+sz > p.maxBytes {
		p.full = true
		return false
	}
	p.size += sz
	p.items = append(p.items, it)
	return true
}

// sizeOf returns change k's size for the byte limit (for a message
// encoded only when sent, messageSize's estimate).
func (p *replyPlan) sizeOf(a *logAuthor, k int) int {
	if p.wire && !a.isEncoded() {
		return messageSize(a.cs.at(k))
	}
	return a.size(k)
}

// logHeader is what the planner reads of a logged change.
type logHeader struct {
	start, end    uint64
	ts            clock.Timestamp
	elided, until uint64
}

// header returns change k's header.
func (a *logAuthor) header(k int) logHeader {
	if a.isEncoded() {
		r := mpReader{b: a.enc.msg(k)}
		ci, n := readChangeHeader(&r)
		if r.err != nil {
			panic("crdt: op log message does not decode: " + r.err.Error())
		}
		return logHeader{start: ci.StartSeq, end: ci.StartSeq + uint64(n) + ci.Elided - 1, ts: ci.Timestamp, elided: ci.Elided, until: ci.Until}
	}
	c := a.cs.at(k)
	return logHeader{start: c.StartSeq, end: c.EndSeq(), ts: c.Timestamp, elided: c.Elided, until: c.Until}
}

// elidable reports whether every op start..end is an elidable write, and
// the greatest seq that overwrote one of them (an overwrite too far to
// record counts as the log's newest: it is logged).
func (a *logAuthor) elidable(start, end uint64) (until uint64, ok bool) {
	for seq := start; seq <= end; seq++ {
		x, ok, far := a.sup.until(seq)
		if !ok {
			return 0, false
		}
		if far {
			x = a.end
		}
		until = max(until, x)
	}
	return until, true
}

// changes renders the plan as changes (since): logged changes as kept (or
// decoded), gaps as the plan's.
func (p *replyPlan) changes() []*Change {
	out := make([]*Change, 0, len(p.items))
	var dec *logDecoder
	for _, it := range p.items {
		if it.gap >= 0 {
			out = append(out, &p.gaps[it.gap])
			continue
		}
		out = it.a.collect(out, it.k, &dec, len(p.items)-len(out))
	}
	return out
}

// each calls f with each item's message (valid until f returns).
func (p *replyPlan) each(f func(a *logAuthor, k int, msg []byte, gap *Change)) {
	for _, it := range p.items {
		switch {
		case it.gap >= 0:
			g := &p.gaps[it.gap]
			f(it.a, -1, p.l.encode(g), g)
		case it.a.isEncoded():
			f(it.a, it.k, it.a.enc.msg(it.k), nil)
		default:
			f(it.a, it.k, p.l.encode(it.a.cs.at(it.k)), nil)
		}
	}
}

// trimGap returns gap g without the seqs up to have (have >= g.StartSeq,
// have < g.EndSeq()).
func trimGap(g *Change, have uint64) *Change {
	t := *g
	t.Elided = g.EndSeq() - have
	t.StartSeq = have + 1
	t.Ops = nil
	return &t
}
