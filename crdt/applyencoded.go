package crdt

import (
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// This file is the wire-to-state path: ApplyEncoded applies encoded
// changes without materialising them as heap Change values (each is
// decoded into room the Doc reuses, applied, and its bytes logged), and
// EncodedChangesSince serves the op log's encoded changes as they are.
// Together they are an exchange of what a peer lacks that never holds a
// decoded change: bytes from one log, applied, into bytes in the other.

// ApplyEncoded applies the changes in data, each element holding one
// message from EncodeChanges or EncodeChange, or several EncodeChange
// messages back to back (as the Data of EncodedChangesSince's results,
// concatenated). It is Apply on the decoded changes, with the same
// semantics, results and counters, but a change is decoded into room the
// Doc reuses: only a change that must wait (pending, quarantined) is
// copied out, and the op log keeps the bytes of an applied one, not the
// change. The Doc does not retain data.
//
// A malformed change is rejected (counted, and the first error returned)
// without affecting the others; bytes that do not decode end their
// element (the changes before them are applied; the next element is read).
func (d *Doc) ApplyEncoded(data ...[]byte) (Result, error) {
	return d.applyEncoded("ApplyEncoded", false, data)
}

// ApplyEncodedOwned is ApplyEncoded for buffers the caller hands over
// (received from the network, say, and not reused): the op log keeps the
// messages of the changes it logs where they lie in data instead of
// copying them, so the caller must never modify data afterwards, and an
// element of data stays in memory while the log keeps any of its
// messages. Applying a large exchange so touches no fresh memory for the
// log's copy (on a VM, each fresh page's first touch costs about as much
// as decoding a few changes). Messages that the log does not keep (a
// duplicate, or a change in a batch message) cost nothing extra.
func (d *Doc) ApplyEncodedOwned(data ...[]byte) (Result, error) {
	return d.applyEncoded("ApplyEncodedOwned", true, data)
}

func (d *Doc) applyEncoded(name string, owned bool, data [][]byte) (Result, error) {
	if d.owner.Busy() {
		return Result{}, errInRecipe(name)
	}
	rx := d.log.receiver()
	var res Result
	var first error
	d.begin()
	d.log.recvOwned = owned
	for _, b := range data {
		if err := d.receiveEncoded(rx, b, &res); err != nil && first == nil {
			first = err
		}
	}
	d.log.recvOwned = false
	rx.done()
	d.drain(&res)
	d.finish(&res)
	return res, first
}

// receiveEncoded handles the messages in b.
func (d *Doc) receiveEncoded(rx *wireRx, b []byte, res *Result) error {
	var first error
	r := mpReader{b: b}
	t := &rx.t
	for r.left() > 0 {
		start := r.off
		t.next()
		typ, err := t.begin(&r, msgBatch)
		if err != nil {
			return d.rejectEncoded(err, first, res)
		}
		t.sameTable()
		t.src = ""
		if start == 0 && typ == msgChange && len(b) <= maxAliasedMessage {
			// A small single change (gossip): its keys and string values
			// alias one copy of the message, as DecodeChange's do.
			t.src = string(b)
		}
		prev := rx.prevFor(len(t.ids))
		for t.nChanges > 0 {
			c := t.change(&r, typ == msgBatch, prev)
			if r.err != nil {
				return d.rejectEncoded(r.err, first, res)
			}
			var msg []byte
			if typ == msgChange {
				msg = b[start:r.off:r.off]
				if d.log.recvOwned {
					msg = b[start:r.off] // adopt may extend its chunk over the next
				}
			}
			if err := d.receiveRoom(c, msg, res); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// rejectEncoded counts bytes that did not decode and returns the first
// error of the element.
func (d *Doc) rejectEncoded(err, first error, res *Result) error {
	res.Rejected++
	d.stats.Rejected++
	if first != nil {
		return first
	}
	return err
}

// receiveRoom is receive for a change decoded into reused room (msg, if
// not nil, is its own message): it gives a change that will be held a
// copy of its own, and tells the log to keep the bytes of one it applies.
func (d *Doc) receiveRoom(c *Change, msg []byte, res *Result) error {
	// receive's steps, with the version vector read and readiness checked
	// once (both are cache misses on a cold Doc).
	have, fresh, err := d.admit(c, res)
	if !fresh {
		return err
	}
	if !d.readyAt(c, have) {
		// It will wait in the pending buffer (or be refused).
		held, err := heldCopy(c, msg)
		if err != nil {
			res.Rejected++
			d.stats.Rejected++
			return err
		}
		return d.receiveUnready(held, res)
	}
	l := &d.log
	l.recv, l.recvMsg = c, msg
	err = d.applyRemoteAt(c, have, res)
	l.recv, l.recvMsg = nil, nil
	if n := len(d.quarantine); n > 0 && d.quarantine[n-1] == c {
		// Its timestamp is too far ahead: it waits.
		held, herr := heldCopy(c, msg)
		if herr != nil {
			panic("crdt: a validated change does not re-encode: " + herr.Error())
		}
		d.quarantine[n-1] = held
	}
	return err
}

// heldCopy returns a change of its own equal to c, decoded from msg (c's
// message) or, if msg is nil, from c's encoding.
func heldCopy(c *Change, msg []byte) (*Change, error) {
	if msg == nil {
		msg = EncodeChange(c)
	}
	return DecodeChange(msg)
}

// wireRx is ApplyEncoded's decoding room, kept by the op log between
// calls: the change and ops every change is decoded into, the replica
// table and the batch deltas.
type wireRx struct {
	t    readTable
	c    Change
	pred [4]OpID // a lone op's predecessors (t.intoPred)
	prev []prevChange
}

// receiver returns the log's decoding room, ready for a call.
func (l *memLog) receiver() *wireRx {
	if l.rx == nil {
		l.rx = &wireRx{}
		l.rx.t.into, l.rx.t.intoPred = &l.rx.c, l.rx.pred[:]
	}
	return l.rx
}

// keepInterned is the most keys whose interning table a call leaves for
// the next: a table that grew larger is dropped, so between calls a Doc
// keeps at most about 1,000 short keys (keys over 64 bytes are never
// interned) and their table, a few tens of KiB.
const keepInterned = 1 << 10

// done ends a call: the room holds no values of the last change. The
// interned keys stay for the next call, unless there are many: mesh
// applies an exchange in pieces of about 64 KiB, a call each, and
// interning the same keys afresh for every piece (the table's growth from
// empty, and a string per key) was about 45% of the bytes such an
// exchange allocated.
func (rx *wireRx) done() {
	if len(rx.t.strs) > keepInterned {
		rx.t.strs = nil
	}
	rx.t.src = ""
	rx.c = Change{}
	clear(rx.t.intoOps)
	rx.t.into = &rx.c
	rx.t.lastRaw, rx.t.lastPath = nil, nil
}

// prevFor returns zeroed batch deltas for a table of n replicas.
func (rx *wireRx) prevFor(n int) []prevChange {
	rx.prev = slices.Grow(rx.prev[:0], n)[:n]
	clear(rx.prev)
	return rx.prev
}

// logDecoder decodes logged messages into changes of their own, carving
// them from shared arenas (ChangesSince decodes thousands at once).
type logDecoder struct{ t readTable }

// decode decodes one logged message, which decoded before it was logged.
func (dec *logDecoder) decode(msg []byte) *Change {
	t := &dec.t
	t.oneBlocks = true
	t.next()
	r := mpReader{b: msg}
	var c *Change
	if _, err := t.begin(&r, msgChange); err == nil {
		t.sameTable()
		c = t.change(&r, false, nil)
	}
	if r.err != nil || c == nil {
		panic(fmt.Sprintf("crdt: op log message does not decode: %v", r.err))
	}
	if t.extra > 0 {
		t.extra--
	}
	return c
}

// EncodedChangesSince is ChangesSinceErr with every change as its
// EncodeChange message: the op log's bytes as they are for changes it
// keeps encoded (made here, or applied with ApplyEncoded), a fresh
// encoding for changes it keeps by pointer (applied with Apply).
// maxBytes (<= 0: no limit) bounds the total length of the messages, at
// least one being returned when any is missing. Gaps come as ChangesSince
// says (their messages are version 2, made afresh). The Data slices share
// the log's memory: they are immutable, and the caller must not modify
// them.
func (d *Doc) EncodedChangesSince(vv VersionVector, maxBytes int) ([]EncodedChange, error) {
	if err := d.CheckFloor(vv); err != nil {
		return nil, err
	}
	return d.log.encodedSince(vv, maxBytes, nil), nil
}

// EncodedChangesBetween is EncodedChangesSince with the reply for each
// replica r of upTo ending at seq upTo[r] at most (replicas not in upTo:
// no cap). A change reaching past the cap is left out, and a write that
// a write past the cap overwrote goes whole, not as a gap: a replica that
// sends its own changes only once they are durable (upTo = {self: the
// durable seq}) never sends a gap whose overwriting write could still be
// lost in a crash.
func (d *Doc) EncodedChangesBetween(vv, upTo VersionVector, maxBytes int) ([]EncodedChange, error) {
	if err := d.CheckFloor(vv); err != nil {
		return nil, err
	}
	return d.log.encodedSince(vv, maxBytes, upTo), nil
}

// AppendEncodedSince appends to dst what EncodedChangesSince returns, the
// messages back to back (ApplyEncoded reads them so), and returns the
// extended buffer.
func (d *Doc) AppendEncodedSince(dst []byte, vv VersionVector, maxBytes int) ([]byte, error) {
	if err := d.CheckFloor(vv); err != nil {
		return dst, err
	}
	return d.log.appendSince(dst, vv, maxBytes), nil
}

// EncodedChange returns c's EncodeChange message: the op log's copy when
// it keeps c encoded (c was applied with ApplyEncoded, or its author's
// log is kept encoded), else a fresh encoding. The log's copy is shared
// and immutable: the caller must not modify it. c is looked up by its id
// (a change applied here is the only change with that id).
func (d *Doc) EncodedChange(c *Change) []byte {
	if a := d.log.authorOf(c.Replica); a != nil && a.isEncoded() {
		i := a.len() - 1 // the newest, usually
		if start, _ := a.span(i); start > c.StartSeq {
			i = a.searchEnd(c.StartSeq - 1)
		}
		if i < a.len() {
			if start, end := a.span(i); start == c.StartSeq && end == c.EndSeq() {
				return a.enc.msg(i)
			}
		}
	}
	return EncodeChange(c)
}

// ChangeInfo is what an EncodeChange message says of its change. A plain
// value.
type ChangeInfo struct {
	Replica          clock.ReplicaID
	StartSeq, EndSeq uint64
	Timestamp        clock.Timestamp
	// Elided and Until are a gap's (Change.Elided, Change.Until); zero for
	// a change of ops.
	Elided, Until uint64
}

// changeSpan reads the start seq and the number of seqs (ops, or a gap's
// elided ops) of an EncodeChange message from its header, without reading
// the ops.
func changeSpan(data []byte) (start, span uint64, err error) {
	r := mpReader{b: data}
	ci, n := readChangeHeader(&r)
	return ci.StartSeq, uint64(n) + ci.Elided, r.err
}

// ReadChangeInfo reads the header of an EncodeChange message: its author,
// sequence numbers and timestamp (and a gap's Elided and Until). It checks that data is exactly one
// well-formed msgpack message of that shape, not that the ops are valid
// (ApplyEncoded and DecodeChange do). It never panics and allocates
// nothing for a change of a few replicas.
func ReadChangeInfo(data []byte) (ChangeInfo, error) {
	r := mpReader{b: data}
	ci, n := readChangeHeader(&r)
	for range n {
		r.skip(maxWireDepth)
	}
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
	if r.err == nil && (ci.StartSeq == 0 || n == 0 && ci.Elided == 0 || ci.StartSeq+uint64(n) < ci.StartSeq) {
		r.fail("bad sequence range")
	}
	if r.err != nil {
		return ChangeInfo{}, r.err
	}
	ci.EndSeq = ci.StartSeq + uint64(n) + ci.Elided - 1
	return ci, nil
}

// readChangeHeader reads an EncodeChange message up to its op count (ci's
// EndSeq is left zero); errors stick in r.
func readChangeHeader(r *mpReader) (ci ChangeInfo, ops int) {
	if r.array(4, 1) != 4 && r.err == nil {
		r.fail("message must be an array of 4")
	}
	v := r.uint()
	if v != wireVersion && v != wireVersionGap && r.err == nil {
		r.err = fmt.Errorf("%w: encoding version %d", ErrVersion, v)
	}
	if typ := r.uint(); typ != msgChange && r.err == nil {
		r.err = fmt.Errorf("%w: message type %d", ErrVersion, typ)
	}
	// The replica table: only the author's entry is wanted, and its index
	// comes after the table, so the table is read again for it.
	table := *r
	nIDs := r.array(maxWireReplicas, 1)
	for range nIDs {
		if r.uint() == 0 {
			r.fail("zero replica id in table")
		}
	}
	if n := r.array(maxWireChanges, 4); n != 1 && r.err == nil {
		r.fail("single-change message holds %d changes", n)
	}
	gap, _ := changeArray(r, v, 4, "change")
	if i := r.uint(); r.err == nil {
		if i >= uint64(nIDs) {
			r.fail("replica index %d outside table of %d", i, nIDs)
		} else {
			table.array(maxWireReplicas, 1)
			for range i {
				table.uint()
			}
			ci.Replica = clock.ReplicaID(table.uint())
		}
	}
	ci.StartSeq = r.uint()
	ts, err := clock.Decode(r.bin(clock.EncodedLen))
	if err != nil && r.err == nil {
		r.fail("timestamp: %v", err)
	}
	ci.Timestamp = ts
	ops = r.array(maxWireOps, 4)
	if gap {
		ci.Elided, ci.Until = r.uint(), r.uint()
		if err := validGap(ci.StartSeq, ci.Elided, ci.Until, ops); err != nil && r.err == nil {
			r.err = err
		}
	}
	return ci, ops
}
