package crdt

import (
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// Wire format, version 1 (msgpack; docs/crdt.md has the field tables):
//
//	message  = [version=1, type, replicas, body]
//	replicas = [replica id, ...]     every replica id is sent once; ids in the
//	                                 body are indexes into this table
//	type 1 (one change): body = [change]
//	change   = [author index, start seq, timestamp (bin 16), [op, ...]]
//	type 2 (batch): body = [bchange, ...]
//	bchange  = [author index, start seq - (previous end + 1), wall - previous
//	           wall, logical, [op, ...]], deltas (signed) against the same
//	           author's previous change in the batch (0 before the first)
//	op       = [kind, path, key, value, pred, ctx, marks, origins]
//	           trailing empty fields are omitted
//
// Segments are a string (map key) or [replica index, seq] (list element);
// ids inside pred and ctx are flattened pairs [index, seq, index, seq, ...];
// ctx is sorted by replica id. Encoding is a function of the changes alone.
//
// Version 2 adds gaps (Change.Elided): a message holding one is version 2,
// any other is still version 1, byte for byte, and decoders read both. A
// gap is a change with no ops and two more fields:
//
//	change   = [author index, start seq, timestamp, [], elided, until]
//	bchange  = [author index, start delta, wall delta, logical, [], elided,
//	           until]
const (
	wireVersion    = 1
	wireVersionGap = 2

	msgChange   = 1
	msgBatch    = 2
	msgSnapshot = 3
)

// Decoder limits: inputs beyond them are rejected with ErrTooLarge before
// anything is allocated for them.
const (
	maxWireReplicas = 1 << 16
	maxWireChanges  = 1 << 20
	maxWireOps      = 1 << 20
	maxWireDepth    = 256
	maxWireString   = 1 << 24
	maxWireList     = 1 << 20
)

// wireTable is a message's replica table. A small table is searched
// linearly; idx, once non-nil (given, or built past wireTableScan ids), maps
// every id to its index. The last id found is remembered: references come
// in runs of one replica.
type wireTable struct {
	ids   []clock.ReplicaID
	idx   map[clock.ReplicaID]int
	last  clock.ReplicaID
	lastI int
	found bool // last is valid
}

const wireTableScan = 8

// find returns r's index in the table.
func (t *wireTable) find(r clock.ReplicaID) (int, bool) {
	if t.found && r == t.last {
		return t.lastI, true
	}
	i, ok := -1, false
	if t.idx != nil {
		i, ok = t.idx[r]
	} else {
		for k, x := range t.ids {
			if x == r {
				i, ok = k, true
				break
			}
		}
	}
	if ok {
		t.last, t.lastI, t.found = r, i, true
	}
	return i, ok
}

// index returns the index of r, which the table holds.
func (t *wireTable) index(r clock.ReplicaID) int {
	i, _ := t.find(r)
	return i
}

func (t *wireTable) add(r clock.ReplicaID) {
	if _, ok := t.find(r); ok {
		return
	}
	t.ids = append(t.ids, r)
	switch {
	case t.idx != nil:
		t.idx[r] = len(t.ids) - 1
	case len(t.ids) > wireTableScan:
		t.idx = make(map[clock.ReplicaID]int, 2*len(t.ids))
		for k, x := range t.ids {
			t.idx[x] = k
		}
	}
}

func (t *wireTable) addSegs(p []Segment) {
	for _, sg := range p {
		t.addSeg(sg)
	}
}

func (t *wireTable) addSeg(sg Segment) {
	if sg.IsElem() {
		t.add(sg.Elem.Replica)
	}
}

func (t *wireTable) addChange(c *Change) {
	t.add(c.Replica)
	for i := range c.Ops {
		op := &c.Ops[i]
		t.addSegs(op.Path)
		t.addSeg(op.Key)
		for _, p := range op.Pred {
			t.add(p.Replica)
		}
		if len(op.Ctx) > 0 {
			for _, r := range op.Ctx.Replicas() {
				t.add(r)
			}
		}
		for _, m := range op.Marks {
			t.addSegs(m.Rel)
			t.add(m.Replica)
		}
		for _, o := range originIDs(op.Origins) {
			t.add(o.Replica)
		}
	}
}

// EncodeChange returns the wire encoding of one change.
func EncodeChange(c *Change) []byte {
	var t wireTable
	return t.appendMessage(nil, c)
}

// appendMessage appends c's EncodeChange message to b, with t (emptied
// first) as its replica table: a table reused for many changes of few
// replicas allocates nothing.
func (t *wireTable) appendMessage(b []byte, c *Change) []byte {
	if selfOnly(c) && c.Elided == 0 {
		return appendSelfMessage(b, c)
	}
	return t.appendTableMessage(b, c)
}

// appendTableMessage is appendMessage for any change.
func (t *wireTable) appendTableMessage(b []byte, c *Change) []byte {
	t.ids, t.idx, t.found = t.ids[:0], nil, false
	t.addChange(c)
	b = mpArray(b, 4)
	b = mpUint(b, msgVersion(c.Elided > 0))
	b = mpUint(b, msgChange)
	b = mpArray(b, len(t.ids))
	for _, r := range t.ids {
		b = mpUint(b, uint64(r))
	}
	b = mpArray(b, 1)
	return t.appendChange(b, c, false, nil)
}

// selfOnly reports whether every id c's ops name is by c's author and no
// op has a context or counter marks: the message's replica table is then
// [author] alone (the common local change).
func selfOnly(c *Change) bool {
	for i := range c.Ops {
		op := &c.Ops[i]
		if len(op.Ctx) > 0 || len(op.Marks) > 0 {
			return false
		}
		for _, sg := range op.Path {
			if sg.IsElem() && sg.Elem.Replica != c.Replica {
				return false
			}
		}
		if op.Key.IsElem() && op.Key.Elem.Replica != c.Replica {
			return false
		}
		for _, p := range op.Pred {
			if p.Replica != c.Replica {
				return false
			}
		}
		if o := op.Origins; (!o.Left.IsZero() && o.Left.Replica != c.Replica) || (!o.Right.IsZero() && o.Right.Replica != c.Replica) {
			return false
		}
	}
	return true
}

// appendSelfMessage is appendMessage for a change that is selfOnly: the
// same bytes, written without a table (every replica index is 0).
func appendSelfMessage(b []byte, c *Change) []byte {
	b = append(b, 0x94, wireVersion, msgChange, 0x91)
	b = mpUint(b, uint64(c.Replica))
	b = append(b, 0x91, 0x94, 0)
	b = mpUint(b, c.StartSeq)
	b = append(b, 0xc4, clock.EncodedLen)
	b = c.Timestamp.AppendEncode(b)
	b = mpArray(b, len(c.Ops))
	for i := range c.Ops {
		op := &c.Ops[i]
		n := 4
		switch {
		case !op.Origins.Left.IsZero() || !op.Origins.Right.IsZero():
			n = 8
		case len(op.Pred) > 0:
			n = 5
		}
		b = append(b, 0x90|byte(n), byte(op.Kind))
		b = mpArray(b, len(op.Path))
		for _, sg := range op.Path {
			b = appendSelfSeg(b, sg)
		}
		b = appendSelfSeg(b, op.Key)
		b = appendValue(b, op.Value)
		if n > 4 {
			b = mpArray(b, 2*len(op.Pred))
			for _, p := range op.Pred {
				b = mpUint(append(b, 0), p.Seq)
			}
		}
		if n > 5 {
			b = append(b, 0x90, 0x90) // no context, no marks
			if !op.Origins.Left.IsZero() {
				b = mpUint(append(b, 0x93, 0, 0), op.Origins.Left.Seq)
			} else {
				b = mpUint(append(b, 0x93, 1, 0), op.Origins.Right.Seq)
			}
		}
	}
	return b
}

// appendSelfSeg appends a segment whose element, if any, is by replica
// index 0.
func appendSelfSeg(b []byte, sg Segment) []byte {
	if sg.IsElem() {
		return mpUint(append(b, 0x92, 0), sg.Elem.Seq)
	}
	return mpStr(b, sg.Key)
}

// EncodeChanges returns the wire encoding of a batch of changes (one replica
// table for all of them).
func EncodeChanges(cs []*Change) []byte {
	n := 16
	for _, c := range cs {
		n += 8 + 24*len(c.Ops)
	}
	return appendChanges(make([]byte, 0, n), msgBatch, cs)
}

func appendChanges(b []byte, typ int, cs []*Change) []byte {
	var t wireTable
	gaps := false
	for _, c := range cs {
		t.addChange(c)
		gaps = gaps || c.Elided > 0
	}
	b = mpArray(b, 4)
	b = mpUint(b, msgVersion(gaps))
	b = mpUint(b, uint64(typ))
	b = mpArray(b, len(t.ids))
	for _, r := range t.ids {
		b = mpUint(b, uint64(r))
	}
	b = mpArray(b, len(cs))
	prev := make([]prevChange, len(t.ids))
	for _, c := range cs {
		b = t.appendChange(b, c, typ == msgBatch, prev)
	}
	return b
}

// prevChange is the previous change of an author within a batch, which the
// next one is delta-encoded against.
type prevChange struct {
	end  uint64
	wall int64
}

func (t *wireTable) appendChange(b []byte, c *Change, delta bool, prev []prevChange) []byte {
	i := t.index(c.Replica)
	gap := 0
	if c.Elided > 0 {
		gap = 2
	}
	if delta {
		b = mpArray(b, 5+gap)
		b = mpUint(b, uint64(i))
		b = mpInt(b, int64(c.StartSeq-(prev[i].end+1)))
		b = mpInt(b, c.Timestamp.Wall-prev[i].wall)
		b = mpUint(b, uint64(c.Timestamp.Logical))
		prev[i] = prevChange{end: c.EndSeq(), wall: c.Timestamp.Wall}
	} else {
		b = mpArray(b, 4+gap)
		b = mpUint(b, uint64(i))
		b = mpUint(b, c.StartSeq)
		b = mpBinHeader(b, clock.EncodedLen)
		b = c.Timestamp.AppendEncode(b)
	}
	b = mpArray(b, len(c.Ops))
	for i := range c.Ops {
		b = t.appendOp(b, &c.Ops[i])
	}
	if gap > 0 {
		b = mpUint(mpUint(b, c.Elided), c.Until)
	}
	return b
}

// changeArray reads the array header of a change of base fields, or of a
// gap (base+2, in a message of version ver >= 2), and reports whether it
// is a gap; ok is false (and the error is in r) for anything else.
func changeArray(r *mpReader, ver uint64, base int, what string) (gap, ok bool) {
	switch r.array(base+2, 1) {
	case base:
		return false, r.err == nil
	case base + 2:
		if ver < wireVersionGap {
			r.fail("a gap in a version %d message", ver)
			return false, false
		}
		return true, r.err == nil
	}
	r.fail("%s must be an array of %d (or %d, a gap)", what, base, base+2)
	return false, false
}

// msgVersion returns the version of a message that holds a gap or not.
func msgVersion(gap bool) uint64 {
	if gap {
		return wireVersionGap
	}
	return wireVersion
}

func (t *wireTable) appendID(b []byte, id OpID) []byte {
	return mpUint(mpUint(b, uint64(t.index(id.Replica))), id.Seq)
}

func (t *wireTable) appendSeg(b []byte, sg Segment) []byte {
	if sg.IsElem() {
		return t.appendID(mpArray(b, 2), sg.Elem)
	}
	return mpStr(b, sg.Key)
}

func (t *wireTable) appendPath(b []byte, p []Segment) []byte {
	b = mpArray(b, len(p))
	for _, sg := range p {
		b = t.appendSeg(b, sg)
	}
	return b
}

func appendValue(b []byte, v draft.Value) []byte {
	switch v.Kind() {
	case draft.BoolKind:
		x, _ := v.AsBool()
		return mpBool(b, x)
	case draft.IntKind:
		x, _ := v.AsInt()
		return mpInt(b, x)
	case draft.FloatKind:
		x, _ := v.AsFloat()
		return mpFloat(b, x)
	case draft.StringKind:
		x, _ := v.AsString()
		return mpStr(b, x)
	case draft.BytesKind:
		x, _ := v.AsBytes()
		return mpBin(b, string(x))
	case draft.MapKind:
		return mpMap(b, 0)
	case draft.ListKind:
		return mpArray(b, 0)
	}
	return mpNil(b) // null, or no value
}

func (t *wireTable) appendOp(b []byte, op *Op) []byte {
	var rs []clock.ReplicaID // the context's replicas, sorted (most ops have none)
	if len(op.Ctx) > 0 {
		rs = op.Ctx.Replicas()
	}
	n := 4
	switch {
	case !op.Origins.Left.IsZero() || !op.Origins.Right.IsZero():
		n = 8
	case len(op.Marks) > 0:
		n = 7
	case len(rs) > 0:
		n = 6
	case len(op.Pred) > 0:
		n = 5
	}
	b = mpArray(b, n)
	b = mpUint(b, uint64(op.Kind))
	b = t.appendPath(b, op.Path)
	b = t.appendSeg(b, op.Key)
	b = appendValue(b, op.Value)
	if n > 4 {
		b = mpArray(b, 2*len(op.Pred))
		for _, p := range op.Pred {
			b = t.appendID(b, p)
		}
	}
	if n > 5 {
		b = mpArray(b, 2*len(rs))
		for _, r := range rs {
			b = t.appendID(b, OpID{Replica: r, Seq: op.Ctx[r]})
		}
	}
	if n > 6 {
		b = mpArray(b, len(op.Marks))
		for _, m := range op.Marks {
			b = mpArray(b, 5)
			b = t.appendPath(b, m.Rel)
			b = t.appendID(b, OpID{Replica: m.Replica, Seq: m.Seq})
			b = mpInt(b, m.Int)
			b = mpFloat(b, m.Float)
		}
	}
	if n > 7 {
		b = mpArray(b, 3)
		if !op.Origins.Left.IsZero() {
			b = t.appendID(mpUint(b, 0), op.Origins.Left)
		} else {
			b = t.appendID(mpUint(b, 1), op.Origins.Right)
		}
	}
	return b
}

// DecodeChange decodes one change encoded by EncodeChange. It validates the
// structure (see Apply) and never panics; it does not retain b.
//
// A small single change (the gossip case) decodes into two allocations: a
// block holding the change, its op and small slices, and a copy of the
// message whose substrings are the keys and string values.
func DecodeChange(b []byte) (*Change, error) {
	r := mpReader{b: b}
	blk := new(changeBlock)
	t := readTable{ids: blk.ids[:0]}
	if _, err := t.begin(&r, msgChange); err != nil {
		return nil, err
	}
	t.changes, t.ops, t.segs, t.idArena = blk.c[:0], blk.op[:0], blk.segs[:0], blk.pred[:0]
	if len(b) <= maxAliasedMessage {
		// Keys and string values alias one small copy of the message, not
		// the block: a value that outlives its change in the log (after
		// compaction) keeps only these bytes alive.
		t.src = string(b)
	}
	c := t.change(&r, false, nil)
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := validateChange(c); err != nil {
		return nil, err
	}
	return c, nil
}

// changeBlock is the memory of a decoded single-write change, allocated
// at once: 312 bytes (the 320-byte size class; 368 with room for two path
// segments, predecessors and replicas) for the common shape: one op, a path
// of at most one segment, at most one predecessor, one replica in the
// table. A larger change takes what else it needs separately.
type changeBlock struct {
	c    [1]Change
	op   [1]Op
	segs [1]Segment
	pred [1]OpID
	ids  [1]clock.ReplicaID
}

// maxAliasedMessage bounds the messages whose strings alias one copy of the
// message (a larger one copies each string, so that a small surviving value
// does not keep a large message alive).
const maxAliasedMessage = 128

// DecodeChanges decodes a batch encoded by EncodeChanges (or a single change
// from EncodeChange).
func DecodeChanges(b []byte) ([]*Change, error) { return decodeChanges(b, msgBatch) }

func decodeChanges(b []byte, want int) ([]*Change, error) {
	r := mpReader{b: b}
	var t readTable
	typ, err := t.begin(&r, want)
	if err != nil {
		return nil, err
	}
	n := t.nChanges
	cs := make([]*Change, 0, n)
	prev := make([]prevChange, len(t.ids))
	for range n {
		c := t.change(&r, typ == msgBatch, prev)
		if r.err != nil {
			return nil, r.err
		}
		if err := validateChange(c); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
	if r.err != nil {
		return nil, r.err
	}
	return cs, nil
}

// begin reads the header up to the body's change count (t.nChanges) and
// returns the message type.
func (t *readTable) begin(r *mpReader, want int) (int, error) {
	typ := r.headerInto(t)
	if r.err != nil {
		return 0, r.err
	}
	if typ != msgChange && typ != msgBatch || (want == msgChange && typ != msgChange) {
		return 0, fmt.Errorf("%w: message type %d", ErrVersion, typ)
	}
	n := r.array(maxWireChanges, 4)
	if typ == msgChange && n != 1 && r.err == nil {
		return 0, fmt.Errorf("%w: single-change message holds %d changes", ErrMalformed, n)
	}
	if r.err != nil {
		return 0, r.err
	}
	t.nChanges = n
	return typ, nil
}

// header reads [version, type, replicas, ...] up to the body, of a
// version 1 message (a snapshot).
func (r *mpReader) header() (*readTable, int) {
	t := &readTable{}
	typ := r.headerInto(t)
	if t.ver != wireVersion && r.err == nil {
		r.err = fmt.Errorf("%w: encoding version %d", ErrVersion, t.ver)
	}
	return t, typ
}

// headerInto is header into a given table.
func (r *mpReader) headerInto(t *readTable) int {
	if r.array(4, 1) != 4 && r.err == nil {
		r.fail("message must be an array of 4")
	}
	v := r.uint()
	if v != wireVersion && v != wireVersionGap && r.err == nil {
		r.err = fmt.Errorf("%w: encoding version %d", ErrVersion, v)
	}
	t.ver = uint8(v)
	typ := int(min(r.uint(), 255))
	n := r.array(maxWireReplicas, 1)
	if cap(t.ids) < n {
		t.ids = make([]clock.ReplicaID, 0, n)
	}
	for range n {
		id := clock.ReplicaID(r.uint())
		if id == 0 {
			r.fail("zero replica id in table")
		}
		t.ids = append(t.ids, id)
	}
	return typ
}

type readTable struct {
	ver  uint8 // the message's version: 2 may hold gaps
	ids  []clock.ReplicaID
	strs map[string]string // keys repeat across a batch: decode each once
	// src, when set, is the whole message as a string (a single change):
	// strings are its substrings instead of copies or interned keys.
	src string

	// arenas: a batch's changes, ops, segments and ids are carved from a few
	// large allocations
	changes  []Change
	nChanges int // changes in the message not decoded yet: arena chunks stop there
	ops      []Op
	segs     []Segment
	idArena  []OpID
	// blocks is the arena of a batch's one-op changes (most are): the
	// change, its op and one predecessor side by side.
	blocks []batchBlock

	// lastRaw is the encoding of the last path decoded (in the input,
	// which the table does not outlive) and lastPath its segments: ops in
	// a batch mostly act in one container.
	lastRaw  []byte
	lastPath []Segment

	// Decoding several messages with one table (the op log's, ApplyEncoded):
	// extra is the number of changes expected in later messages (arena
	// chunks are sized for them too); oneBlocks carves every one-op change
	// from blocks, not only a batch's; into, when set, is where every
	// change is decoded (ApplyEncoded's room, reused change after change),
	// with intoOps and intoPred its ops' and a lone op's predecessors' room.
	extra     int
	oneBlocks bool
	into      *Change
	intoOps   []Op
	intoPred  []OpID
	prevIDs   []clock.ReplicaID // the previous message's table (next)
}

// next prepares t to decode another message with the same arenas. The
// last path decoded stays shareable while the messages' replica tables
// are equal (call sameTable after the header).
func (t *readTable) next() {
	t.prevIDs = append(t.prevIDs[:0], t.ids...)
	t.ids = t.ids[:0]
}

// sameTable forgets the last path decoded unless this message's replica
// table equals the previous one's (a path's element segments are indexes
// into the table).
func (t *readTable) sameTable() {
	if !slices.Equal(t.ids, t.prevIDs) {
		t.lastRaw, t.lastPath = nil, nil
	}
}

// Arena chunks fit one 8 KiB page with the allocator's 8-byte header: a
// batch of thousands of changes then fills free pages the heap already
// holds (any single free page fits one) instead of asking the OS for fresh
// runs of pages, whose first touch costs a page fault each (on a VM, about
// as much as decoding a few changes).
const (
	opsChunk     = 46  // 46 ops of 176 bytes: 8,096 + 8 of 8,192
	changesChunk = 102 // 102 changes of 80 bytes: 8,160 + 8
	blocksChunk  = 30  // 30 blocks of 272 bytes: 8,160 + 8
)

// batchBlock is the memory of one decoded one-op change of a batch: the
// change, its op and room for one predecessor (a plain overwrite's), read
// and applied together.
type batchBlock struct {
	c    Change
	op   [1]Op
	pred [1]OpID
}

// takeN carves n elements from an arena, growing it in chunks of up to 256
// elements but never more than more (an upper bound on how many the rest of
// the input can hold), so a single small change allocates only what it
// needs.
func takeN[T any](arena *[]T, n, more int) []T { return takeChunk(arena, n, more, 256) }

// takeChunk is takeN with chunks of up to chunk elements.
func takeChunk[T any](arena *[]T, n, more, chunk int) []T {
	if n == 0 {
		return nil
	}
	if cap(*arena)-len(*arena) < n {
		*arena = make([]T, 0, max(n, min(chunk, more)))
	}
	a := *arena
	*arena = a[:len(a)+n]
	return a[len(a) : len(a)+n : len(a)+n]
}

// str reads a string value.
func (t *readTable) str(r *mpReader) string {
	if t.src != "" {
		return t.sub(r.strBytes(maxWireString), r)
	}
	return r.str(maxWireString)
}

// sub returns the substring of src that b (just read by r) aliases.
func (t *readTable) sub(b []byte, r *mpReader) string {
	if len(b) == 0 {
		return ""
	}
	end := r.off
	return t.src[end-len(b) : end]
}

// key reads a string, interning it.
func (t *readTable) key(r *mpReader) string {
	b := r.strBytes(maxWireString)
	if t.src != "" {
		return t.sub(b, r)
	}
	if len(b) > 64 {
		return string(b)
	}
	if s, ok := t.strs[string(b)]; ok {
		return s
	}
	if t.strs == nil {
		t.strs = make(map[string]string)
	}
	s := string(b)
	if len(t.strs) < 1<<16 {
		t.strs[s] = s
	}
	return s
}

func (t *readTable) replica(r *mpReader) clock.ReplicaID {
	i := r.uint()
	if r.err != nil {
		return 0
	}
	if i >= uint64(len(t.ids)) {
		r.fail("replica index %d outside table of %d", i, len(t.ids))
		return 0
	}
	return t.ids[i]
}

func (t *readTable) id(r *mpReader) OpID {
	rep := t.replica(r)
	s := r.uint()
	if s == 0 && r.err == nil {
		r.fail("zero sequence number")
	}
	return OpID{Replica: rep, Seq: s}
}

func (t *readTable) seg(r *mpReader) Segment {
	if c := r.peek(); c&0xf0 == 0x90 || c == 0xdc || c == 0xdd {
		if r.array(2, 1) != 2 {
			r.fail("element segment must be [replica, seq]")
			return Segment{}
		}
		return Segment{Elem: t.id(r)}
	}
	return Segment{Key: t.key(r)}
}

func (t *readTable) path(r *mpReader) []Segment {
	if k := len(t.lastRaw); k > 0 && r.left() >= k && string(r.b[r.off:r.off+k]) == string(t.lastRaw) {
		// The same bytes as the previous path: msgpack is prefix-free, so
		// they decode to the same segments, which ops share (a path is
		// never modified, and its capacity ends at its length).
		r.off += k
		return t.lastPath
	}
	start := r.off
	n := r.array(maxWireDepth, 1)
	if n == 0 {
		return nil
	}
	p := takeN(&t.segs, n, n+r.left()/2)
	for i := range p {
		p[i] = t.seg(r)
	}
	if r.err == nil {
		t.lastRaw, t.lastPath = r.b[start:r.off], p
	}
	return p
}

func (t *readTable) change(r *mpReader, delta bool, prev []prevChange) *Change {
	var h Change // the header, until the op count says where the change goes
	author := -1 // delta: the author's index, whose prev this change becomes
	gap := false // the change is a gap: [..., [], elided, until]
	if delta {
		var ok bool
		if gap, ok = changeArray(r, uint64(t.ver), 5, "batch change"); !ok {
			return nil
		}
		i := r.uint()
		if r.err == nil && i >= uint64(len(t.ids)) {
			r.fail("replica index %d outside table of %d", i, len(t.ids))
			return nil
		}
		if r.err != nil {
			return nil
		}
		h.Replica = t.ids[i]
		h.StartSeq = prev[i].end + 1 + uint64(r.int())
		wall := prev[i].wall + r.int()
		logical := r.uint()
		if r.err == nil && (wall < 0 || wall > clock.MaxWall || logical > 0xffff) {
			r.fail("timestamp out of range")
		}
		h.Timestamp = clock.Timestamp{Wall: wall, Logical: uint16(logical), Replica: h.Replica}
		author = int(i)
	} else {
		var ok bool
		if gap, ok = changeArray(r, uint64(t.ver), 4, "change"); !ok {
			return nil
		}
		h.Replica, h.StartSeq = t.replica(r), r.uint()
		ts, err := clock.Decode(r.bin(clock.EncodedLen))
		if err != nil && r.err == nil {
			r.fail("timestamp: %v", err)
		}
		h.Timestamp = ts
	}
	n := r.array(maxWireOps, 4)
	if gap {
		h.Elided, h.Until = r.uint(), r.uint()
		if err := validGap(h.StartSeq, h.Elided, h.Until, n); err != nil && r.err == nil {
			r.err = err
		}
	}
	if r.err != nil {
		return nil
	}
	more := t.nChanges + t.extra
	t.nChanges--
	var c *Change
	var room []OpID // where a one-op change's single predecessor goes
	if t.into != nil {
		c = t.into
		if cap(t.intoOps) < n {
			t.intoOps = make([]Op, n)
		}
		c.Ops = t.intoOps[:n:n] // op clears what an op leaves out
		if n == 1 {
			room = t.intoPred
		}
	} else if n == 1 && (delta || t.oneBlocks) {
		b := &takeChunk(&t.blocks, 1, more, blocksChunk)[0]
		c, room = &b.c, b.pred[:]
		c.Ops = b.op[:]
	} else {
		c = &takeChunk(&t.changes, 1, more, changesChunk)[0]
		c.Ops = takeChunk(&t.ops, n, n+r.left()/8, opsChunk)
	}
	// Field by field: the header fields are not pointers, so no write
	// barrier runs (copying the whole Change would run one for Ops).
	c.Replica, c.StartSeq, c.Timestamp = h.Replica, h.StartSeq, h.Timestamp
	c.Elided, c.Until = h.Elided, h.Until
	for i := range c.Ops {
		t.op(r, &c.Ops[i], room)
		if r.err != nil {
			return nil
		}
	}
	if author >= 0 {
		prev[author] = prevChange{end: c.EndSeq(), wall: c.Timestamp.Wall}
	}
	return c
}

// value reads a scalar or a container marker; a nil is Null for kinds that
// carry a value and absent otherwise.
func readValue(r *mpReader, kind OpKind) draft.Value {
	c := r.peek()
	switch {
	case c == 0xc0:
		r.off++
		if kind == OpSet || kind == OpInsert {
			return draft.Null()
		}
		return draft.Value{}
	case c == 0xc2 || c == 0xc3:
		r.off++
		return draft.Bool(c == 0xc3)
	case c == 0xca || c == 0xcb:
		return draft.Float(r.float())
	case c < 0x80 || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return draft.Int(r.int())
	case c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb):
		return draft.String(r.str(maxWireString))
	case c >= 0xc4 && c <= 0xc6:
		return draft.Bytes(r.bin(maxWireString))
	case c == 0x80:
		r.off++
		return draft.EmptyMap()
	case c == 0x90:
		r.off++
		return draft.EmptyList()
	}
	r.fail("unsupported value 0x%02x", c)
	return draft.Value{}
}

// op reads one op into op; room, if long enough, takes its predecessors.
func (t *readTable) op(r *mpReader, op *Op, room []OpID) {
	n := r.array(8, 1)
	if n < 4 {
		r.fail("op must have 4 to 8 fields, has %d", n)
		return
	}
	if t.into != nil {
		// Reused room: clear what this op leaves out (and only that: a
		// pointer write costs a barrier while the GC marks).
		if n <= 4 && op.Pred != nil {
			op.Pred = nil
		}
		if n <= 5 && op.Ctx != nil {
			op.Ctx = nil
		}
		if n <= 6 && op.Marks != nil {
			op.Marks = nil
		}
		if n <= 7 && op.Origins != (seq.Origins{}) {
			op.Origins = seq.Origins{}
		}
	}
	op.Kind = OpKind(min(r.uint(), 255))
	op.Path = t.path(r)
	op.Key = t.seg(r)
	if c := r.peek(); t.src != "" && (c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb)) {
		op.Value = draft.String(t.str(r))
	} else {
		op.Value = readValue(r, op.Kind)
	}
	if n > 4 {
		k := r.array(2*maxWireList, 1)
		if k%2 != 0 {
			r.fail("odd pred list")
			return
		}
		if k/2 <= len(room) && k > 0 {
			op.Pred = room[: k/2 : k/2]
		} else {
			op.Pred = takeN(&t.idArena, k/2, k/2+r.left()/4)
		}
		for j := range op.Pred {
			op.Pred[j] = t.id(r)
		}
	}
	if n > 5 {
		k := r.array(2*maxWireReplicas, 1)
		if k%2 != 0 {
			r.fail("odd context")
			return
		}
		if k > 0 {
			op.Ctx = make(VersionVector, k/2)
		} else if op.Ctx != nil {
			op.Ctx = nil // reused room
		}
		prev := clock.ReplicaID(0)
		for j := range k / 2 {
			id := t.id(r)
			if r.err == nil && j > 0 && id.Replica <= prev {
				r.fail("context not sorted by replica")
			}
			prev = id.Replica
			op.Ctx[id.Replica] = id.Seq
		}
	}
	if n > 6 {
		k := r.array(maxWireList, 5)
		if k > 0 {
			op.Marks = make([]CounterMark, 0, k)
		} else if op.Marks != nil {
			op.Marks = nil // reused room
		}
		for range k {
			if r.array(5, 1) != 5 {
				r.fail("counter mark must have 5 fields")
				return
			}
			m := CounterMark{Rel: t.path(r)}
			id := t.id(r)
			m.Replica, m.Seq = id.Replica, id.Seq
			m.Int = r.int()
			m.Float = r.float()
			op.Marks = append(op.Marks, m)
		}
	}
	if n > 7 {
		if r.array(3, 1) != 3 {
			r.fail("origins must have 3 fields")
			return
		}
		side := r.uint()
		id := t.id(r)
		switch side {
		case 0:
			op.Origins = seq.Origins{Left: id}
		case 1:
			op.Origins = seq.Origins{Right: id}
		default:
			r.fail("origin side %d", side)
		}
	}
}
