package crdt

import (
	"cmp"
	"iter"
	"slices"
	"sort"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// opLog stores applied changes for anti-entropy. It is an interface so that
// storage (issue 6) can replace the in-memory log.
type opLog interface {
	append(c *Change)
	since(vv VersionVector, maxBytes int) []*Change
}

// memLog is the in-memory op log. Per author it keeps the changes in one
// of two forms, chosen by the author's first change (and again whenever
// compaction empties the author):
//
//   - encoded: each change's EncodeChange message in the author's byte
//     arena (encRun). Changes applied with ApplyEncoded are kept so: about
//     50 bytes a one-write change, with no pointers for the GC to scan,
//     served to peers as they are (EncodedChangesSince) and decoded only
//     when a caller asks for *Change values (ChangesSince).
//   - by pointer: the *Change values Apply was given (changeRun), shared
//     with the caller, and local changes. A caller that applies one decoded
//     change to many Docs (the simulator) then pays 8 bytes per Doc, and
//     no copy. (Local changes kept encoded measured slower: the encoding
//     costs more than the GC saves on W1, W3 and W4.)
//
// A change that arrives in the other form than its author's log is
// converted (encoded, or decoded into a copy), so an author's log stays in
// seq order in one form.
type memLog struct {
	// authors is every replica ever appended, ascending (some may have no
	// changes left after compaction), with its changes in seq order and the
	// end seq of its newest, so since neither sorts nor touches up-to-date
	// authors' logs.
	authors []logAuthor
	// lastR is the last author appended and last its index in authors:
	// kept here, in a line the lookup reads anyway, so checking it costs
	// no cache miss on a cold Doc (local changes repeat one author).
	lastR clock.ReplicaID
	last  int
	// index finds an author without a binary search over authors (on a
	// Doc cold in cache each probe of that search is a cache miss): an
	// open-addressed table, a power of two at least twice len(authors),
	// of index+1 into authors (0: empty), by replica id hash; rebuilt
	// when an author is added (rare), so it never needs a delete.
	index []int32

	// recv is the change ApplyEncoded is handing to the Doc, decoded into
	// room it reuses: if the Doc applies it, append keeps its bytes, never
	// the change. recvMsg is its own single-change message (nil: it came
	// in a batch and is encoded afresh).
	recv    *Change
	recvMsg []byte
	// recvOwned says that recvMsg's buffer was handed over
	// (ApplyEncodedOwned): the log keeps the message where it lies.
	recvOwned bool
	tmp       []byte // room to encode one change
	// whole makes replies send every change whole, no gaps (tests of the
	// log's own forms).
	whole    bool
	elide    bool       // some author's elide is set
	cutRoom  cutRoom    // replyPlan.cut's room (elide.go)
	wirePlan *replyPlan // the encoded replies' plan, reused
	tab      wireTable
	rx       *wireRx // ApplyEncoded's decoding room (applyencoded.go)
}

var _ opLog = (*memLog)(nil)

type logAuthor struct {
	r   clock.ReplicaID
	end uint64
	cs  changeRun // the changes kept by pointer, or
	enc *encRun   // the changes kept encoded (nil until used)
	sup supRun    // which of its ops are elidable writes (elide.go)
	// elide says that the author's log may hold elidable changes or gaps:
	// replies to readers that lack its changes are planned (elide.go).
	elide bool
}

func newMemLog() *memLog { return &memLog{} }

// author returns r's entry, adding it if r is new. The pointer is valid
// until the next author is added.
func (l *memLog) author(r clock.ReplicaID) *logAuthor {
	if r == l.lastR && r != 0 {
		return &l.authors[l.last]
	}
	i, found := l.search(r)
	if !found {
		i, _ = slices.BinarySearchFunc(l.authors, r, func(a logAuthor, r clock.ReplicaID) int {
			return cmp.Compare(a.r, r)
		})
		l.authors = slices.Insert(l.authors, i, logAuthor{r: r})
		l.indexInsert(i)
	}
	l.lastR, l.last = r, i
	return &l.authors[i]
}

// warm makes c's author the last author looked up (author's cached one),
// if it is logged, and reads the places the append of c will write: its
// place in the author's first chunk, and its first op's supersession
// record (see Doc.warm). It adds no author. It returns a sum of what it
// read, which means nothing.
func (l *memLog) warm(c *Change) uint64 {
	i, found := l.search(c.Replica)
	if !found {
		return 0
	}
	l.lastR, l.last = c.Replica, i
	a := &l.authors[i]
	var w uint64
	if p := int(a.cs.head + a.cs.n); p < len(a.cs.first) && a.cs.first[p] == nil {
		w++
	}
	if s := &a.sup; c.StartSeq >= s.base {
		if p := uint64(s.r.head) + c.StartSeq - s.base; p < uint64(len(s.r.first)) {
			w += uint64(s.r.first[p])
		}
	}
	return w
}

// search returns r's index in authors, and whether r is there, by the
// index: one probe of it, usually, and then r's entry.
func (l *memLog) search(r clock.ReplicaID) (int, bool) {
	if len(l.index) == 0 {
		return 0, false
	}
	mask := uint64(len(l.index) - 1)
	for h := authorHash(r); ; h++ {
		j := l.index[h&mask]
		if j == 0 {
			return 0, false
		}
		if l.authors[j-1].r == r {
			return int(j - 1), true
		}
	}
}

// authorHash spreads replica ids (often small consecutive numbers, or
// random 64-bit ones) over the index's slots.
func authorHash(r clock.ReplicaID) uint64 {
	return (uint64(r) * 0x9e3779b97f4a7c15) >> 32
}

// indexInsert updates the index for an author just inserted at i (the
// ones from i on moved up by one): the table is rebuilt when it would be
// over half full, else shifted in one pass and the new author placed.
func (l *memLog) indexInsert(i int) {
	if 2*len(l.authors) > len(l.index) {
		size := 8
		for size < 2*len(l.authors) {
			size *= 2
		}
		l.index = make([]int32, size)
		for k := range l.authors {
			l.place(k)
		}
		return
	}
	for k, j := range l.index {
		if j > int32(i) {
			l.index[k] = j + 1
		}
	}
	l.place(i)
}

// place enters authors[i] in the index (which has room).
func (l *memLog) place(i int) {
	mask := uint64(len(l.index) - 1)
	h := authorHash(l.authors[i].r)
	for l.index[h&mask] != 0 {
		h++
	}
	l.index[h&mask] = int32(i + 1)
}

// authorOf returns r's entry, or nil.
func (l *memLog) authorOf(r clock.ReplicaID) *logAuthor {
	if i, found := l.search(r); found {
		return &l.authors[i]
	}
	return nil
}

// append logs a change applied from elsewhere: by pointer, unless the
// author's log is encoded or c is ApplyEncoded's reused room.
func (l *memLog) append(c *Change) {
	a := l.author(c.Replica)
	a.end = max(a.end, c.EndSeq())
	if c.Elided > 0 {
		a.elide, l.elide = true, true
	}
	switch {
	case c == l.recv && a.cs.len() == 0:
		msg := l.recvMsg
		if msg == nil {
			msg = l.encode(c)
		}
		if l.recvOwned && l.recvMsg != nil {
			a.encoded().adopt(msg, c)
		} else {
			a.encoded().push(msg, c)
		}
	case c == l.recv:
		// The author's log is by pointer: keep a copy.
		held, err := heldCopy(c, l.recvMsg)
		if err != nil {
			panic("crdt: an applied change does not re-encode: " + err.Error())
		}
		a.cs.push(held)
	case a.enc != nil && a.enc.len() > 0:
		a.enc.push(l.encode(c), c)
	default:
		a.cs.push(c)
	}
}

// encode returns c's EncodeChange message in l.tmp (valid until the next
// call).
func (l *memLog) encode(c *Change) []byte {
	l.tmp = l.tab.appendMessage(l.tmp[:0], c)
	return l.tmp
}

func (a *logAuthor) encoded() *encRun {
	if a.enc == nil {
		a.enc = new(encRun)
	}
	return a.enc
}

// isEncoded reports whether the author's changes are kept encoded.
func (a *logAuthor) isEncoded() bool { return a.enc != nil && a.enc.len() > 0 }

// len returns the number of changes logged for the author.
func (a *logAuthor) len() int {
	if a.isEncoded() {
		return a.enc.len()
	}
	return a.cs.len()
}

// span returns the first and last seq of change i.
func (a *logAuthor) span(i int) (start, end uint64) {
	if a.isEncoded() {
		return a.enc.span(i)
	}
	c := a.cs.at(i)
	return c.StartSeq, c.EndSeq()
}

// size estimates change i's size in bytes: its encoding's length, or
// changeSize for a change kept by pointer.
func (a *logAuthor) size(i int) int {
	if a.isEncoded() {
		return len(a.enc.msg(i))
	}
	return changeSize(a.cs.at(i))
}

// searchEnd returns the index of the first change whose end seq is above
// have (len when none is).
func (a *logAuthor) searchEnd(have uint64) int {
	if !a.isEncoded() {
		return a.cs.search(have)
	}
	return sort.Search(a.enc.len(), func(i int) bool {
		_, end := a.enc.span(i)
		return end > have
	})
}

// dropFront drops the author's first k changes.
func (a *logAuthor) dropFront(k int) {
	if a.isEncoded() {
		a.enc.dropFront(k)
		return
	}
	a.cs.dropFront(k)
}

// collect appends change i as a *Change (decoded with *dec, made if nil,
// if kept encoded; extra is how many more changes it may decode).
func (a *logAuthor) collect(out []*Change, i int, dec **logDecoder, extra int) []*Change {
	if a.isEncoded() {
		if *dec == nil {
			*dec = &logDecoder{}
			(*dec).t.extra = extra
		}
		return append(out, (*dec).decode(a.enc.msg(i)))
	}
	return append(out, a.cs.at(i))
}

func (l *memLog) since(vv VersionVector, maxBytes int) []*Change {
	if l.elides(vv) {
		return l.plan(vv, maxBytes, false, nil).changes()
	}
	return l.asLogged(vv, maxBytes)
}

// asLogged is since with every change as the log keeps it (nothing
// elided; gaps received are kept as gaps).
func (l *memLog) asLogged(vv VersionVector, maxBytes int) []*Change {
	var out []*Change
	var dec *logDecoder // made when an encoded change is collected
	total := 0
	if maxBytes <= 0 {
		// Everything lacking goes: size the result once.
		total = l.missing(vv)
		out = make([]*Change, 0, total)
	}
	size := 0
	for a, i := range l.lacking(vv) {
		if maxBytes <= 0 && !a.isEncoded() {
			out = a.cs.appendFrom(out, i)
			continue
		}
		for ; i < a.len(); i++ {
			if maxBytes > 0 {
				sz := a.size(i)
				if len(out) > 0 && size+sz > maxBytes {
					return out
				}
				size += sz
			}
			out = a.collect(out, i, &dec, total-len(out))
		}
	}
	return out
}

// EncodedChange is one applied change as an EncodeChange message, with
// what its header says. Data may share memory with the Doc's op log: it is
// immutable, and the caller must not modify it. A plain value.
type EncodedChange struct {
	Replica          clock.ReplicaID
	StartSeq, EndSeq uint64
	Data             []byte
}

// encodedSince is since with every change as its EncodeChange message:
// kept bytes as they are, changes kept by pointer encoded.
func (l *memLog) encodedSince(vv VersionVector, maxBytes int, upTo VersionVector) []EncodedChange {
	var out []EncodedChange
	if upTo != nil || l.elides(vv) {
		l.plan(vv, maxBytes, true, upTo).each(func(a *logAuthor, i int, msg []byte, gap *Change) {
			var start, end uint64
			switch {
			case gap != nil:
				start, end = gap.StartSeq, gap.EndSeq()
				msg = slices.Clone(msg)
			case a.isEncoded():
				start, end = msgSpan(msg)
			default:
				start, end = a.span(i)
				msg = slices.Clone(msg)
			}
			out = append(out, EncodedChange{Replica: a.r, StartSeq: start, EndSeq: end, Data: msg})
		})
		return out
	}
	if maxBytes <= 0 {
		out = make([]EncodedChange, 0, l.missing(vv))
	}
	l.eachSince(vv, maxBytes, func(a *logAuthor, i int, msg []byte) {
		var start, end uint64
		if a.isEncoded() {
			start, end = msgSpan(msg) // (not a.span: no search for its chunk)
		} else {
			start, end = a.span(i)
			msg = EncodeChange(a.cs.at(i)) // l.tmp is reused
		}
		out = append(out, EncodedChange{Replica: a.r, StartSeq: start, EndSeq: end, Data: msg})
	})
	return out
}

// lacking yields each author with changes vv lacks and the index of the
// first of them: an author's changes are in seq order, so from the first
// that ends above vv's entry every one holds ops vv lacks. Authors vv is
// up to date with (the common case) cost one comparison.
func (l *memLog) lacking(vv VersionVector) iter.Seq2[*logAuthor, int] {
	return func(yield func(*logAuthor, int) bool) {
		for k := range l.authors {
			a := &l.authors[k]
			have := vv[a.r]
			if a.end <= have {
				continue
			}
			if !yield(a, a.searchEnd(have)) {
				return
			}
		}
	}
}

// appendSince appends the messages of encodedSince to dst, back to back.
func (l *memLog) appendSince(dst []byte, vv VersionVector, maxBytes int) []byte {
	if l.elides(vv) {
		l.plan(vv, maxBytes, true, nil).each(func(_ *logAuthor, _ int, msg []byte, _ *Change) { dst = append(dst, msg...) })
		return dst
	}
	if maxBytes > 0 {
		l.eachSince(vv, maxBytes, func(_ *logAuthor, _ int, msg []byte) { dst = append(dst, msg...) })
		return dst
	}
	dst = slices.Grow(dst, l.missingBytes(vv))
	for a, i := range l.lacking(vv) {
		if a.isEncoded() {
			dst = a.enc.appendFrom(dst, i)
			continue
		}
		for ; i < a.len(); i++ {
			dst = l.tab.appendMessage(dst, a.cs.at(i))
		}
	}
	return dst
}

// missing returns the number of logged changes holding ops vv lacks.
func (l *memLog) missing(vv VersionVector) int {
	total := 0
	for a, i := range l.lacking(vv) {
		total += a.len() - i
	}
	return total
}

// missingBytes estimates the length of the messages of the logged changes
// holding ops vv lacks (exact for changes kept encoded).
func (l *memLog) missingBytes(vv VersionVector) int {
	total := 0
	for a, i := range l.lacking(vv) {
		if a.isEncoded() {
			total += a.enc.bytesFrom(i)
			continue
		}
		for ; i < a.len(); i++ {
			total += messageSize(a.cs.at(i))
		}
	}
	return total
}

// messageSize estimates the length of c's EncodeChange message: exact for
// the usual change of one replica, a little over otherwise.
func messageSize(c *Change) int {
	n := 4 + uintLen(uint64(c.Replica)) + 3 + uintLen(c.StartSeq) + 2 + clock.EncodedLen + 3
	if c.Elided > 0 {
		n += uintLen(c.Elided) + uintLen(c.Until)
	}
	for i := range c.Ops {
		op := &c.Ops[i]
		n += 3 + segSize(op.Key)
		for _, sg := range op.Path {
			n += segSize(sg)
		}
		switch v := op.Value; v.Kind() {
		case draft.StringKind:
			s, _ := v.AsString()
			n += 5 + len(s)
		case draft.BytesKind:
			b, _ := v.AsBytes()
			n += 5 + len(b)
		case draft.IntKind:
			x, _ := v.AsInt()
			n += 9
			if x >= 0 {
				n += uintLen(uint64(x)) - 9
			}
		case draft.FloatKind:
			n += 9
		default:
			n++
		}
		n++ // the pred list's header, or room for it
		for _, p := range op.Pred {
			n += 1 + uintLen(p.Seq)
		}
		if len(op.Ctx) > 0 || len(op.Marks) > 0 || !op.Origins.Left.IsZero() || !op.Origins.Right.IsZero() {
			n += 2 + 20*len(op.Ctx) + 40*len(op.Marks) + 13
		}
	}
	return n
}

func segSize(sg Segment) int {
	if sg.IsElem() {
		return 2 + 9 + uintLen(sg.Elem.Seq)
	}
	if len(sg.Key) < 32 {
		return 1 + len(sg.Key)
	}
	return 5 + len(sg.Key)
}

// uintLen is the length of u as a msgpack unsigned integer.
func uintLen(u uint64) int {
	switch {
	case u < 128:
		return 1
	case u <= 0xff:
		return 2
	case u <= 0xffff:
		return 3
	case u <= 0xffffffff:
		return 5
	}
	return 9
}

// eachSince calls f with each logged change holding ops vv lacks and its
// message (valid until f returns if the change is kept by pointer), at
// least one and then while the messages total at most maxBytes (<= 0: no
// limit).
func (l *memLog) eachSince(vv VersionVector, maxBytes int, f func(a *logAuthor, i int, msg []byte)) {
	size := 0
	for a, i := range l.lacking(vv) {
		chunk := -1 // an encoded change's chunk, followed along
		for ; i < a.len(); i++ {
			var msg []byte
			if a.isEncoded() {
				msg, chunk = a.enc.msgAfter(i, chunk)
			} else {
				msg = l.encode(a.cs.at(i))
			}
			if maxBytes > 0 {
				if size > 0 && size+len(msg) > maxBytes {
					return
				}
				size += len(msg)
			}
			f(a, i, msg)
		}
	}
}

// changeSize estimates the memory and wire size of c in bytes.
func changeSize(c *Change) int {
	n := 48
	for i := range c.Ops {
		op := &c.Ops[i]
		n += 16 + len(op.Path)*24 + len(op.Key.Key) + len(op.Pred)*16 + len(op.Ctx)*16 + len(op.Marks)*48 + 32
		for _, sg := range op.Path {
			n += len(sg.Key)
		}
		if s, ok := op.Value.AsString(); ok {
			n += len(s)
		}
	}
	return n
}

// encRun is one author's logged changes as EncodeChange messages, in seq
// order: the bytes back to back in arena chunks that are only appended to
// (a message, once written, never changes, so slices of it can be handed
// out), and per change its offset in its chunk, 2 bytes (its chunk is
// found from the number of each chunk's first change, a few dozen a
// megabyte). A message's length is where
// the next one starts (or its chunk's end), and its seq numbers are read
// from its header (on the rarer paths: anti-entropy, compaction), so the
// log holds little beside the messages: a fresh page is dear to touch.
type encRun struct {
	pos  chunkRun[uint16] // each change's offset in its arena chunk (at most maxOffset)
	bufs [][]byte         // arena chunks, each holding at least one change
	// first[k] is the number of bufs[k]'s first change, counted (as
	// runFirst) from the first change ever pushed: change i is number
	// dropped+i.
	first []int
	// borrowed says that the last chunk lies in a buffer handed over to
	// ApplyEncodedOwned: it grows only over the messages that follow it
	// there (adopt), and nothing is copied into it.
	borrowed bool

	// The newest run of changes without a gap between them (the log's
	// floor, kept as changes come so that it is not read back from every
	// header; an author's changes have disjoint seq ranges, logged in
	// order): lastEnd is the newest end seq, runLow the start seq - 1 of
	// the run's first change, runFirst that change's index counted from
	// the first change ever pushed (dropped counts the ones compacted).
	lastEnd, runLow   uint64
	runFirst, dropped int
}

// Arena chunk sizes: an author's first chunk is small (a replica that
// writes little holds little), later ones double up to encChunkMax.
const (
	encChunkMin = 256
	encChunkMax = 32 << 10
)

// maxOffset is the greatest offset of a change in its chunk: a copied
// chunk is at most encChunkMax bytes (or one message), and an adopted one
// stops growing at a message past it (the next starts a chunk of its own
// in the same buffer).
const maxOffset = 1<<16 - 1

// adoptMin is the least room, from a message to its buffer's end, for
// adopt to keep the message where it lies.
const adoptMin = 1 << 10

func (e *encRun) len() int { return e.pos.len() }

// push copies msg, the message of c, into the arena.
func (e *encRun) push(msg []byte, c *Change) {
	e.track(c)
	k := len(e.bufs) - 1
	if k < 0 || e.borrowed || cap(e.bufs[k])-len(e.bufs[k]) < len(msg) || len(e.bufs[k]) > maxOffset {
		size := encChunkMin
		if k >= 0 {
			size = min(2*cap(e.bufs[k]), encChunkMax)
		}
		e.bufs = append(e.bufs, make([]byte, 0, max(size, len(msg))))
		e.first = append(e.first, e.dropped+e.pos.len())
		e.borrowed = false
		k++
	}
	b := e.bufs[k]
	e.pos.push(uint16(len(b)))
	e.bufs[k] = append(b, msg...)
}

// track keeps the newest gapless run's bounds as c is logged.
func (e *encRun) track(c *Change) {
	if e.pos.len() == 0 || c.StartSeq > e.lastEnd+1 {
		e.runLow, e.runFirst = c.StartSeq-1, e.dropped+e.pos.len()
	}
	e.lastEnd = max(e.lastEnd, c.EndSeq())
}

// adopt logs msg, the message of c, where it lies: msg is in a buffer
// handed over to the Doc, its capacity reaching to the buffer's end. A
// message that directly follows the last one logged in the same buffer
// extends that chunk; any other starts a chunk of its own. Nothing is
// copied, and the log keeps the buffer alive while it keeps any of them.
//
// A message that would start a chunk in a buffer with less than
// adoptMin bytes from it to the end (a buffer of one or a few small
// messages) is copied instead: a chunk of its own would cost more than
// the copy (its slice header, and a pointer for the GC to scan).
func (e *encRun) adopt(msg []byte, c *Change) {
	k := len(e.bufs) - 1
	if k >= 0 && e.borrowed {
		b := e.bufs[k]
		// (An offset must fit its 16 bits.)
		if rest := b[len(b):cap(b)]; len(rest) >= len(msg) && len(msg) > 0 && &rest[0] == &msg[0] && len(b) <= maxOffset {
			e.track(c)
			e.pos.push(uint16(len(b)))
			e.bufs[k] = b[:len(b)+len(msg)]
			return
		}
	}
	if cap(msg) < adoptMin {
		e.push(msg[:len(msg):len(msg)], c)
		return
	}
	e.track(c)
	e.bufs = append(e.bufs, msg)
	e.first = append(e.first, e.dropped+e.pos.len())
	e.borrowed = true
	e.pos.push(0)
}

// msg returns change i's message (capacity capped: appending to it copies).
func (e *encRun) msg(i int) []byte { return e.msgIn(i, e.chunkOf(i)) }

// msgAfter is msg for a walk in order: k is change i-1's chunk (-1 for
// none), and change i's is returned with its message, found without a
// search.
func (e *encRun) msgAfter(i, k int) ([]byte, int) {
	switch {
	case k < 0:
		k = e.chunkOf(i)
	case k+1 < len(e.first) && e.first[k+1] == e.dropped+i:
		k++
	}
	return e.msgIn(i, k), k
}

// bytesFrom returns the length of the messages of changes i.. together.
func (e *encRun) bytesFrom(i int) int {
	if i >= e.pos.len() {
		return 0
	}
	k := e.chunkOf(i)
	n := len(e.bufs[k]) - int(e.pos.at(i))
	for _, b := range e.bufs[k+1:] {
		n += len(b)
	}
	return n
}

// msgIn is msg with change i's chunk, k, known.
func (e *encRun) msgIn(i, k int) []byte {
	b := e.bufs[k]
	off, end := int(e.pos.at(i)), len(b)
	// The next change is in the same chunk unless it starts the next.
	if i+1 < e.pos.len() && (k+1 == len(e.first) || e.first[k+1] != e.dropped+i+1) {
		end = int(e.pos.at(i + 1))
	}
	return b[off:end:end]
}

// chunkOf returns the index in bufs of change i's chunk.
func (e *encRun) chunkOf(i int) int {
	n := e.dropped + i
	last := len(e.first) - 1
	if n >= e.first[last] {
		return last // the newest chunk (most lookups, and the only one of a small log)
	}
	lo, hi := 0, last // the chunk is in [lo, hi)
	for hi-lo > 1 {
		if m := int(uint(lo+hi) >> 1); e.first[m] <= n {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// appendFrom appends the messages of changes i.. to dst: a copy per arena
// chunk, the messages lying back to back in each.
func (e *encRun) appendFrom(dst []byte, i int) []byte {
	if i >= e.pos.len() {
		return dst
	}
	k := e.chunkOf(i)
	dst = append(dst, e.bufs[k][e.pos.at(i):]...)
	for _, b := range e.bufs[k+1:] {
		dst = append(dst, b...)
	}
	return dst
}

// span returns the first and last seq of change i, from its header.
func (e *encRun) span(i int) (start, end uint64) { return msgSpan(e.msg(i)) }

// msgSpan returns the first and last seq of a logged change's message.
func msgSpan(msg []byte) (start, end uint64) {
	start, ops, err := changeSpan(msg)
	if err != nil {
		panic("crdt: op log message does not decode: " + err.Error())
	}
	return start, start + ops - 1
}

// floor returns the lowest seq from which the changes reach without a gap
// up to have (have itself if the newest does not reach it).
func (e *encRun) floor(have uint64) uint64 {
	if e.pos.len() == 0 || e.lastEnd < have {
		return have
	}
	return e.runLow
}

// dropFront drops the first k changes and the arena chunks only they used.
func (e *encRun) dropFront(k int) {
	e.pos.dropFront(k)
	if e.pos.len() == 0 {
		*e = encRun{}
		return
	}
	e.dropped += k
	if e.runFirst < e.dropped {
		// The run's front went: it starts at the first change left.
		start, _ := e.span(0)
		e.runLow, e.runFirst = start-1, e.dropped
	}
	if drop := e.chunkOf(0); drop > 0 {
		m := copy(e.bufs, e.bufs[drop:])
		clear(e.bufs[m:])
		e.bufs = e.bufs[:m]
		e.first = e.first[:copy(e.first, e.first[drop:])]
	}
}
