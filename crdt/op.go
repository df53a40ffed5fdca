package crdt

import (
	"strconv"
	"strings"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt/internal/seq"
	"github.com/syncmesh/syncmesh/draft"
)

// Segment is one step of a container path inside the CRDT: a map key, or a
// list element identified by the OpID of the insert that created it (never
// by index, so that concurrent inserts cannot change what a path means).
// A Segment with a zero Elem is a key (possibly ""). Plain value.
type Segment struct {
	Key  string
	Elem OpID
}

// KeySeg returns a map-key segment.
func KeySeg(k string) Segment { return Segment{Key: k} }

// ElemSeg returns a list-element segment.
func ElemSeg(id OpID) Segment { return Segment{Elem: id} }

// IsElem reports whether s addresses a list element.
func (s Segment) IsElem() bool { return s.Elem.Seq != 0 }

// String formats a key as itself and an element as "@replica.seq".
func (s Segment) String() string {
	if s.IsElem() {
		return "@" + s.Elem.Replica.String() + "." + strconv.FormatUint(s.Elem.Seq, 10)
	}
	return s.Key
}

func formatSegs(p []Segment) string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		b.WriteString(s.String())
	}
	return b.String()
}

// OpKind says what an operation does. The numbering is part of the wire
// format: append only.
type OpKind uint8

// Operation kinds.
const (
	// OpSet writes Value into the register at (Path, Key), superseding the
	// entries listed in Pred (and, with Ctx, everything in the subtree below
	// that Ctx covers; with Marks, the counter contributions they name).
	OpSet OpKind = 1
	// OpDelete is OpSet without a new value: observed-remove.
	OpDelete OpKind = 2
	// OpInc adds Value (an int or float delta) to the counter at (Path, Key).
	OpInc OpKind = 3
	// OpInsert creates a list element in the list at Path, placed by Origins,
	// holding Value. The element's identity is the op's own id.
	OpInsert OpKind = 4
	// OpMove creates a new position for element Key.Elem of the list at Path,
	// placed by Origins, and makes it the element's position if it wins the
	// element's last-writer-wins position register.
	OpMove OpKind = 5
)

var opKindNames = [...]string{"?", "set", "delete", "inc", "insert", "move"}

// String returns the kind's name.
func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return "op(" + strconv.Itoa(int(k)) + ")"
}

// CounterMark records what a deleting author had seen of one replica's
// contribution to a counter: up to operation Seq, the contribution summed to
// Int+Float. Removing a counter subtracts exactly that, so increments the
// author had not seen survive (observed-remove for counters). A plain value.
type CounterMark struct {
	// Rel is the counter's path relative to the op's slot (empty: the slot
	// itself).
	Rel     []Segment
	Replica clock.ReplicaID
	Seq     uint64
	Int     int64
	Float   float64
}

// Op is one operation of a Change. Its id is (Change.Replica,
// Change.StartSeq + its index). Ops are values; a Change's ops must not be
// modified after the change was made or decoded.
type Op struct {
	Kind OpKind
	// Path is the container the op acts in (empty: the root map).
	Path []Segment
	// Key is the register within the container: a map key or, for OpSet and
	// OpDelete in lists, the element; for OpMove, the element moved. Unused
	// (zero) for OpInsert.
	Key Segment
	// Value is what OpSet and OpInsert write: a scalar, or an empty map or
	// list meaning "a container of that kind lives here" (its contents are
	// written by further ops). For OpInc, the delta (int or float).
	Value draft.Value
	// Pred lists the entries of the register the author had seen and this op
	// supersedes.
	Pred []OpID
	// Ctx, when non-nil, is the author's version vector: the op also removes
	// every entry below the register that Ctx covers (deleting or replacing a
	// container the author had seen).
	Ctx VersionVector
	// Marks remove counter contributions the author had seen (at the register
	// itself or, with Ctx, below it).
	Marks []CounterMark
	// Origins places an OpInsert or OpMove slot in the list sequence.
	Origins seq.Origins
}

// Change is the batch of operations made by one local update: op i has id
// (Replica, StartSeq+i), and all share Timestamp. A Change is immutable once
// made or decoded and is then safe for concurrent reads.
//
// A change with Elided > 0 is a gap (docs/crdt.md, "Superseded writes"): it
// carries no ops and stands for its author's ops StartSeq..EndSeq(), writes
// that later writes of the same author (at seqs up to Until) overwrote.
// Applying it advances the version vector over them and changes no state;
// Timestamp is the greatest timestamp of the changes it stands for. Only
// anti-entropy replies (ChangesSince and the like) hold gaps.
type Change struct {
	Replica   clock.ReplicaID
	StartSeq  uint64
	Timestamp clock.Timestamp
	Ops       []Op
	// Elided is the number of ops a gap stands for (0: not a gap).
	Elided uint64
	// Until, for a gap, is the greatest seq of the author's ops that
	// overwrote the ones the gap stands for (above EndSeq): a replica
	// sends the gap on only in a reply that reaches Until, so that the
	// receiver gets the overwriting ops with it.
	Until uint64
}

// EndSeq returns the sequence number of the change's last op, or of a
// gap's last elided op (StartSeq-1 for an empty change).
func (c *Change) EndSeq() uint64 { return c.StartSeq + uint64(len(c.Ops)) + c.Elided - 1 }

// IsGap reports whether c is a gap (Elided > 0).
func (c *Change) IsGap() bool { return c.Elided > 0 }

// ID returns the id of op i.
func (c *Change) ID(i int) OpID { return OpID{Replica: c.Replica, Seq: c.StartSeq + uint64(i)} }

// originIDs returns the slot ids an insert or move's origins reference.
func originIDs(o seq.Origins) []OpID {
	switch {
	case !o.Left.IsZero() && !o.Right.IsZero():
		return []OpID{o.Left, o.Right}
	case !o.Left.IsZero():
		return []OpID{o.Left}
	case !o.Right.IsZero():
		return []OpID{o.Right}
	}
	return nil
}
