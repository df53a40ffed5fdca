package mesh

import (
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// ProtocolVersion is the version byte that starts every wire message. A
// message with another version is rejected (RejectVersion), and a peer whose
// node metadata advertises another version is refused at join time.
const ProtocolVersion byte = 1

// MsgType is the second byte of every wire message (a plain value). The enum is append-only:
// values are never reused or renumbered.
type MsgType byte

// The message types. See docs/protocol.md for when each is sent.
const (
	// TypeChange carries one encoded change batch on the gossip fast path.
	TypeChange MsgType = 1
	// TypeAnnounce names a replica's latest sequence number, for a change
	// too big for the fast path; receivers that lack it Fetch it.
	TypeAnnounce MsgType = 2
	// TypeFetch asks a peer for the changes of one replica after a sequence.
	TypeFetch MsgType = 3
	// TypeDigest carries a version vector for anti-entropy.
	TypeDigest MsgType = 4
	// TypeChanges carries a bounded chunk of changes (repair or fetch reply).
	TypeChanges MsgType = 5
	// TypeSnapshotRequest asks a peer for a full snapshot.
	TypeSnapshotRequest MsgType = 6
	// TypeSnapshot carries a full document snapshot (catch-up).
	TypeSnapshot MsgType = 7

	typeLimit MsgType = 8 // first unassigned value; keep in step
)

// String returns the type's lowercase name, used as a metric label.
func (t MsgType) String() string {
	switch t {
	case TypeChange:
		return "change"
	case TypeAnnounce:
		return "announce"
	case TypeFetch:
		return "fetch"
	case TypeDigest:
		return "digest"
	case TypeChanges:
		return "changes"
	case TypeSnapshotRequest:
		return "snapshot_request"
	case TypeSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("type%d", byte(t))
}

// Wire limits that do not depend on configuration. Every one is far above
// what a healthy mesh produces; they exist so that a hostile length cannot
// make a decoder allocate.
const (
	// MaxNameBytes bounds a node name carried in a message.
	MaxNameBytes = 512
	// MaxVersionEntries bounds the replicas in a version vector.
	MaxVersionEntries = 1 << 20
	// MaxChunkChanges bounds the changes in one Changes message.
	MaxChunkChanges = 1 << 20
	// headerBytes is the version byte plus the type byte.
	headerBytes = 2
)

// VersionVector maps each replica to the highest sequence number of its
// operations applied contiguously from 1. A missing replica means 0. It is
// mesh's own view of the document's version vector; the document adapter
// converts. A VersionVector is not safe for concurrent mutation.
type VersionVector map[clock.ReplicaID]uint64

// Clone returns a copy of v.
func (v VersionVector) Clone() VersionVector {
	c := make(VersionVector, len(v))
	for r, s := range v {
		c[r] = s
	}
	return c
}

// Covers reports whether v has every operation o has.
func (v VersionVector) Covers(o VersionVector) bool {
	for r, s := range o {
		if v[r] < s {
			return false
		}
	}
	return true
}

// Missing returns how many operations o has that v lacks.
func (v VersionVector) Missing(o VersionVector) uint64 {
	var n uint64
	for r, s := range o {
		if have := v[r]; s > have {
			n += s - have
		}
	}
	return n
}

// Total returns the number of operations v covers.
func (v VersionVector) Total() uint64 {
	var n uint64
	for _, s := range v {
		n += s
	}
	return n
}

// sortedReplicas returns v's replicas with a non-zero sequence, ascending.
func (v VersionVector) sortedReplicas() []clock.ReplicaID {
	rs := make([]clock.ReplicaID, 0, len(v))
	for r, s := range v {
		if s > 0 {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	return rs
}

// Change is mesh's view of one change batch: the operations with sequence
// numbers Start..End (inclusive) of one replica, in the document's own
// encoding, which mesh carries without reading. Data is owned by whoever holds
// the Change and must not be modified once the Change is handed to mesh or
// returned by a Document. A Change is a plain value, safe to share for
// reading.
type Change struct {
	Replica clock.ReplicaID
	Start   uint64
	End     uint64
	Data    []byte
}

// validate reports a Change whose header cannot be right.
func (c Change) validate() error {
	if c.Replica == 0 || c.Start == 0 || c.End < c.Start {
		return &DecodeError{Reason: RejectMalformed, Detail: fmt.Sprintf("change %s %d..%d", c.Replica, c.Start, c.End)}
	}
	return nil
}

// Message is one wire message: one of *ChangeMsg, *AnnounceMsg, *FetchMsg,
// *DigestMsg, *ChangesMsg, *SnapshotRequestMsg, *SnapshotMsg. Messages are
// plain data: safe for concurrent reads, not for concurrent mutation.
type Message interface {
	// Type returns the message's type byte.
	Type() MsgType
	appendPayload(b []byte) []byte
	decodePayload(r *reader, maxData int)
}

// ChangeMsg gossips one change batch on the fast path.
type ChangeMsg struct{ Change Change }

// AnnounceMsg says that From has Replica's operations up to Seq, for a change
// too large for the fast path. Nodes lacking it send a FetchMsg to From.
type AnnounceMsg struct {
	From    string
	Replica clock.ReplicaID
	Seq     uint64
}

// FetchMsg asks for Replica's changes with sequence numbers after After.
type FetchMsg struct {
	From    string
	Replica clock.ReplicaID
	After   uint64
}

// DigestMsg is From's version vector. The receiver answers with the changes
// From lacks; if Reply is set and From has something the receiver lacks, the
// receiver also sends its own digest (with Reply unset) so From pushes it.
type DigestMsg struct {
	From    string
	Version VersionVector
	Reply   bool
}

// ChangesMsg is a bounded chunk of changes. More says the sender stopped at
// its size bound with more to give: the receiver asks again with a digest.
type ChangesMsg struct {
	From    string
	Changes []Change
	More    bool
}

// SnapshotRequestMsg asks From's peer for a full snapshot.
type SnapshotRequestMsg struct{ From string }

// SnapshotMsg is a full document snapshot covering Version.
type SnapshotMsg struct {
	From    string
	Version VersionVector
	Data    []byte
}

// Type implements Message.
func (*ChangeMsg) Type() MsgType { return TypeChange }

// Type implements Message.
func (*AnnounceMsg) Type() MsgType { return TypeAnnounce }

// Type implements Message.
func (*FetchMsg) Type() MsgType { return TypeFetch }

// Type implements Message.
func (*DigestMsg) Type() MsgType { return TypeDigest }

// Type implements Message.
func (*ChangesMsg) Type() MsgType { return TypeChanges }

// Type implements Message.
func (*SnapshotRequestMsg) Type() MsgType { return TypeSnapshotRequest }

// Type implements Message.
func (*SnapshotMsg) Type() MsgType { return TypeSnapshot }

// Encode returns m's wire bytes: ProtocolVersion, the type byte and the
// msgpack payload. Encoding is deterministic.
func Encode(m Message) []byte {
	return AppendEncode(make([]byte, 0, sizeHint(m)), m)
}

// sizeHint is about the encoded size of m, so Encode allocates once: a
// repair chunk grown from 64 bytes by append was copied about twenty times
// (11% of the CPU of the throughput benchmark).
func sizeHint(m Message) int {
	const overhead = 64 // header, array headers, sender name, flags
	switch m := m.(type) {
	case *ChangeMsg:
		return overhead + len(m.Change.Data)
	case *ChangesMsg:
		n := overhead + len(m.From)
		for _, c := range m.Changes {
			n += changeOverhead + len(c.Data)
		}
		return n
	case *SnapshotMsg:
		return overhead + len(m.From) + len(m.Data) + versionEntryBytes*len(m.Version)
	case *DigestMsg:
		return overhead + len(m.From) + versionEntryBytes*len(m.Version)
	}
	return overhead
}

// EncodedSize returns len(Encode(m)) without encoding m: for a driver
// that only counts the bytes a message would take (OutputPool.SizesOnly).
// Encoding a message to measure it copied every change's data and sorted
// every version vector, per stream message in a simulation (AppendEncode
// was 3.1 s of the 10,000-node run).
func EncodedSize(m Message) int {
	n := headerBytes
	switch m := m.(type) {
	case *ChangeMsg:
		n += changeSize(m.Change)
	case *AnnounceMsg:
		n += 1 + strSize(m.From) + uintSize(uint64(m.Replica)) + uintSize(m.Seq)
	case *FetchMsg:
		n += 1 + strSize(m.From) + uintSize(uint64(m.Replica)) + uintSize(m.After)
	case *DigestMsg:
		n += 1 + strSize(m.From) + versionSize(m.Version) + 1
	case *ChangesMsg:
		n += 1 + strSize(m.From) + arrayHeaderSize(len(m.Changes)) + 1
		for _, c := range m.Changes {
			n += changeSize(c)
		}
	case *SnapshotRequestMsg:
		n += 1 + strSize(m.From)
	case *SnapshotMsg:
		n += 1 + strSize(m.From) + versionSize(m.Version) + binSize(len(m.Data))
	default:
		n = len(Encode(m))
	}
	return n
}

// changeSize is len(appendChange(nil, c)).
func changeSize(c Change) int {
	return 1 + uintSize(uint64(c.Replica)) + uintSize(c.Start) + uintSize(c.End) + binSize(len(c.Data))
}

// versionSize is len(appendVersion(nil, v)): the order of the entries,
// which appendVersion sorts, does not change their size.
func versionSize(v VersionVector) int {
	n, entries := 0, 0
	for r, s := range v {
		if s > 0 {
			n += uintSize(uint64(r)) + uintSize(s)
			entries++
		}
	}
	return arrayHeaderSize(2*entries) + n
}

// changeOverhead bounds the bytes of one change's array header, replica,
// start, end and bin header; versionEntryBytes those of one version
// vector entry (two uints).
const (
	changeOverhead    = 1 + 9 + 9 + 9 + 5
	versionEntryBytes = 9 + 9
)

// AppendEncode appends m's wire bytes to b.
func AppendEncode(b []byte, m Message) []byte {
	b = append(b, ProtocolVersion, byte(m.Type()))
	return m.appendPayload(b)
}

// Decode parses one wire message of at most maxBytes bytes (maxBytes <= 0
// means no bound beyond the input's length). It never panics and allocates
// no more than the input's length; it returns a *DecodeError for any input it
// rejects. The returned message does not alias b.
func Decode(b []byte, maxBytes int) (Message, error) { return decode(b, maxBytes, false) }

// decodeShared is Decode for the Core's input, except that a gossiped
// Change's data aliases b instead of being copied: the message is little
// more than the data, and the copies were an allocation per change per
// node (in a simulation every node receives the same bytes). Chunks of
// changes are still copied, so a kept change does not hold a whole chunk.
func decodeShared(b []byte) (Message, error) { return decode(b, 0, true) }

func decode(b []byte, maxBytes int, alias bool) (Message, error) {
	if len(b) == 0 {
		return nil, &DecodeError{Reason: RejectEmpty, Detail: "no bytes"}
	}
	if maxBytes > 0 && len(b) > maxBytes {
		return nil, &DecodeError{Reason: RejectTooLarge, Detail: fmt.Sprintf("%d bytes over the %d-byte limit", len(b), maxBytes)}
	}
	if b[0] != ProtocolVersion {
		return nil, &DecodeError{Reason: RejectVersion, Detail: fmt.Sprintf("protocol version %d, want %d", b[0], ProtocolVersion)}
	}
	if len(b) < headerBytes {
		return nil, &DecodeError{Reason: RejectTruncated, Detail: "no type byte"}
	}
	// The payload decoders are called on concrete types so that the
	// reader stays on the stack (through the interface it escaped: an
	// allocation per message, 3% of the 1,000-node simulation).
	var m Message
	r := reader{b: b[headerBytes:], alias: alias && MsgType(b[1]) == TypeChange}
	switch MsgType(b[1]) {
	case TypeChange:
		x := new(ChangeMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeAnnounce:
		x := new(AnnounceMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeFetch:
		x := new(FetchMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeDigest:
		x := new(DigestMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeChanges:
		x := new(ChangesMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeSnapshotRequest:
		x := new(SnapshotRequestMsg)
		x.decodePayload(&r, len(b))
		m = x
	case TypeSnapshot:
		x := new(SnapshotMsg)
		x.decodePayload(&r, len(b))
		m = x
	default:
		return nil, &DecodeError{Reason: RejectType, Detail: fmt.Sprintf("message type %d", b[1])}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, &DecodeError{Reason: RejectTrailing, Detail: fmt.Sprintf("%d bytes after %s", len(r.b), m.Type())}
	}
	return m, nil
}

// peekType returns the type byte of an encoded message, or 0.
func peekType(b []byte) MsgType {
	if len(b) < headerBytes {
		return 0
	}
	return MsgType(b[1])
}

func appendChange(b []byte, c Change) []byte {
	b = appendArrayHeader(b, 4)
	b = appendUint(b, uint64(c.Replica))
	b = appendUint(b, c.Start)
	b = appendUint(b, c.End)
	return appendBin(b, c.Data)
}

func readChange(r *reader, maxData int) Change {
	r.expectArray(4, "change")
	c := Change{
		Replica: clock.ReplicaID(r.uint("change replica")),
		Start:   r.uint("change start"),
		End:     r.uint("change end"),
		Data:    r.bin(maxData, "change data"),
	}
	if r.err == nil {
		if err := c.validate(); err != nil {
			r.err = err
		}
	}
	return c
}

func appendVersion(b []byte, v VersionVector) []byte {
	rs := v.sortedReplicas()
	b = appendArrayHeader(b, 2*len(rs))
	for _, rep := range rs {
		b = appendUint(b, uint64(rep))
		b = appendUint(b, v[rep])
	}
	return b
}

// readVersion reads a flat [replica, seq, ...] array. Replicas must be
// strictly ascending and sequences non-zero: the one canonical form.
func readVersion(r *reader) VersionVector {
	n := r.arrayLen(1, 2*MaxVersionEntries, "version vector")
	if r.err != nil {
		return nil
	}
	if n%2 != 0 {
		r.fail(RejectMalformed, "version vector: odd length")
		return nil
	}
	v := make(VersionVector, n/2)
	var prev clock.ReplicaID
	for i := 0; i < n/2 && r.err == nil; i++ {
		rep := clock.ReplicaID(r.uint("version replica"))
		s := r.uint("version seq")
		if r.err != nil {
			break
		}
		if rep <= prev || s == 0 {
			r.fail(RejectMalformed, "version vector: not canonical")
			break
		}
		prev = rep
		v[rep] = s
	}
	return v
}

func (m *ChangeMsg) appendPayload(b []byte) []byte { return appendChange(b, m.Change) }

func (m *ChangeMsg) decodePayload(r *reader, maxData int) { m.Change = readChange(r, maxData) }

func (m *AnnounceMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.From)
	b = appendUint(b, uint64(m.Replica))
	return appendUint(b, m.Seq)
}

func (m *AnnounceMsg) decodePayload(r *reader, _ int) {
	r.expectArray(3, "announce")
	m.From = r.str(MaxNameBytes, "announce from")
	m.Replica = clock.ReplicaID(r.uint("announce replica"))
	m.Seq = r.uint("announce seq")
	if r.err == nil && (m.Replica == 0 || m.Seq == 0) {
		r.fail(RejectMalformed, "announce: zero replica or seq")
	}
}

func (m *FetchMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.From)
	b = appendUint(b, uint64(m.Replica))
	return appendUint(b, m.After)
}

func (m *FetchMsg) decodePayload(r *reader, _ int) {
	r.expectArray(3, "fetch")
	m.From = r.str(MaxNameBytes, "fetch from")
	m.Replica = clock.ReplicaID(r.uint("fetch replica"))
	m.After = r.uint("fetch after")
	if r.err == nil && m.Replica == 0 {
		r.fail(RejectMalformed, "fetch: zero replica")
	}
}

func (m *DigestMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.From)
	b = appendVersion(b, m.Version)
	return appendBool(b, m.Reply)
}

func (m *DigestMsg) decodePayload(r *reader, _ int) {
	r.expectArray(3, "digest")
	m.From = r.str(MaxNameBytes, "digest from")
	m.Version = readVersion(r)
	m.Reply = r.bool("digest reply")
}

func (m *ChangesMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.From)
	b = appendArrayHeader(b, len(m.Changes))
	for _, c := range m.Changes {
		b = appendChange(b, c)
	}
	return appendBool(b, m.More)
}

func (m *ChangesMsg) decodePayload(r *reader, maxData int) {
	r.expectArray(3, "changes")
	m.From = r.str(MaxNameBytes, "changes from")
	// A change takes at least 5 bytes: header, three uints, empty bin header.
	n := r.arrayLen(5, MaxChunkChanges, "changes list")
	if r.err != nil {
		return
	}
	m.Changes = make([]Change, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		m.Changes = append(m.Changes, readChange(r, maxData))
	}
	m.More = r.bool("changes more")
}

func (m *SnapshotRequestMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 1)
	return appendStr(b, m.From)
}

func (m *SnapshotRequestMsg) decodePayload(r *reader, _ int) {
	r.expectArray(1, "snapshot request")
	m.From = r.str(MaxNameBytes, "snapshot request from")
}

func (m *SnapshotMsg) appendPayload(b []byte) []byte {
	b = appendArrayHeader(b, 3)
	b = appendStr(b, m.From)
	b = appendVersion(b, m.Version)
	return appendBin(b, m.Data)
}

func (m *SnapshotMsg) decodePayload(r *reader, maxData int) {
	r.expectArray(3, "snapshot")
	m.From = r.str(MaxNameBytes, "snapshot from")
	m.Version = readVersion(r)
	m.Data = r.bin(maxData, "snapshot data")
}
