package draft

// Op is a JSON Patch (RFC 6902) operation name (a plain string value,
// safe for concurrent use).
type Op string

// The RFC 6902 operations. Produce emits add, remove, replace and move;
// Apply accepts all six.
const (
	OpAdd     Op = "add"
	OpRemove  Op = "remove"
	OpReplace Op = "replace"
	OpMove    Op = "move"
	OpCopy    Op = "copy"
	OpTest    Op = "test"
)

func (o Op) valid() bool {
	switch o {
	case OpAdd, OpRemove, OpReplace, OpMove, OpCopy, OpTest:
		return true
	}
	return false
}

// Patch is one JSON Patch operation.
//
// Patches from Produce state intent (see the package doc):
//   - add at a list index inserts (later items shift right); inserting n
//     items at i gives n adds at i, i+1, ..., i+n-1;
//   - remove at a list index deletes (later items shift left); removing a
//     range of n items at i gives n removes, all at i;
//   - move within a list is one move (From and Path in the same list; the
//     item ends at Path's index, as RFC 6902 defines);
//   - an Increment is a replace whose Value is the new number and whose
//     Delta is the amount added, so a counter CRDT can sum deltas while any
//     RFC 6902 implementation just sets the value.
//
// A Patch is a plain value, safe for concurrent reads; Produce and Apply
// never modify patches they return or receive.
type Patch struct {
	Op    Op
	Path  Path
	From  Path  // move and copy: the source
	Value Value // add, replace and test: the value (never Invalid for them)
	// Delta is set (Int or Float) on a replace produced by Increment: the
	// amount added to the old number. Invalid otherwise. Apply ignores it
	// (Value is authoritative); in JSON it is the extension member "delta".
	Delta Value
}

// IsIncrement reports whether p is a replace carrying an increment delta.
func (p Patch) IsIncrement() bool { return p.Op == OpReplace && p.Delta.IsValid() }
