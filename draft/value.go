package draft

import (
	"iter"
	"math"
	"slices"
	"unsafe"
)

// Kind is the type of a Value (a plain value, safe for concurrent use).
type Kind uint8

// The kinds of Value. Invalid is the zero Value's kind and means "absent /
// no value": it is what lookups of a missing key return, and it is never
// stored inside a map or list. Null is JSON null, a present value.
const (
	Invalid Kind = iota
	NullKind
	BoolKind
	IntKind
	FloatKind
	StringKind
	BytesKind
	MapKind
	ListKind
)

var kindNames = [...]string{"invalid", "null", "bool", "int", "float", "string", "bytes", "map", "list"}

// String returns the kind's lower-case name ("map", "int", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// Value is an immutable JSON-like value: null, bool, int64, float64,
// string, bytes, a map with string keys, or a list. Maps and lists are
// persistent B+trees: "changing" one returns a new Value that shares every
// untouched node with the old one, in O(log n).
//
// The zero Value is valid to hold and pass around; its Kind is Invalid and
// it stands for "absent" (as opposed to Null, which is present).
//
// Values are safe for concurrent use by multiple goroutines: nothing
// reachable from a Value handed out by this package is ever modified.
// Compare Values with Equal (content) or Same (identity), not ==, which
// compares string data pointers and tree roots.
type Value struct {
	kind Kind
	num  uint64         // bool (0/1), int64 bits, float64 bits, string/bytes/container length
	ref  unsafe.Pointer // string/bytes data, *mnode (map) or *lnode (list)
}

// Value is three words: a string's data pointer and length, or a
// container's root node and size, share ref and num. This halves the size
// of every tree entry and patch compared with separate fields, which is
// what a produce copies.

func mapValue(n uint64, root *mnode) Value {
	return Value{kind: MapKind, num: n, ref: unsafe.Pointer(root)}
}

func listValue(n uint64, root *lnode) Value {
	return Value{kind: ListKind, num: n, ref: unsafe.Pointer(root)}
}

func textValue(k Kind, s string) Value {
	return Value{kind: k, num: uint64(len(s)), ref: unsafe.Pointer(unsafe.StringData(s))}
}

func (v Value) mroot() *mnode {
	if v.kind != MapKind {
		return nil
	}
	return (*mnode)(v.ref)
}

func (v Value) lroot() *lnode {
	if v.kind != ListKind {
		return nil
	}
	return (*lnode)(v.ref)
}

func (v Value) text() string {
	if (v.kind != StringKind && v.kind != BytesKind) || v.num == 0 {
		return ""
	}
	return unsafe.String((*byte)(v.ref), int(v.num))
}

// Null returns the JSON null value.
func Null() Value { return Value{kind: NullKind} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	v := Value{kind: BoolKind}
	if b {
		v.num = 1
	}
	return v
}

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: IntKind, num: uint64(i)} }

// Float returns a floating-point value. NaN and infinities can be held but
// cannot be marshalled to JSON.
func Float(f float64) Value { return Value{kind: FloatKind, num: math.Float64bits(f)} }

// String returns a string value.
func String(s string) Value { return textValue(StringKind, s) }

// Bytes returns a byte-string value holding a copy of b.
func Bytes(b []byte) Value { return textValue(BytesKind, string(b)) }

// EmptyMap returns a map with no entries.
func EmptyMap() Value { return Value{kind: MapKind} }

// EmptyList returns a list with no items.
func EmptyList() Value { return Value{kind: ListKind} }

// MapOf returns a map holding the entries of m. Entries whose value is the
// zero (Invalid) Value are skipped.
func MapOf(m map[string]Value) Value {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v.kind != Invalid {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([]Value, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return mapValue(uint64(len(keys)), mapBuild(nil, keys, vals))
}

// ListOf returns a list of the given items. Invalid items become Null.
func ListOf(items ...Value) Value {
	c := make([]Value, len(items))
	for i, v := range items {
		c[i] = v.orNull()
	}
	return listValue(uint64(len(c)), listBuild(nil, c))
}

func (v Value) orNull() Value {
	if v.kind == Invalid {
		return Null()
	}
	return v
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsValid reports whether v is a value at all (not the zero Value).
func (v Value) IsValid() bool { return v.kind != Invalid }

// IsNull reports whether v is JSON null.
func (v Value) IsNull() bool { return v.kind == NullKind }

// AsBool returns the boolean and true if v is a bool.
func (v Value) AsBool() (bool, bool) { return v.num == 1, v.kind == BoolKind }

// AsInt returns the integer and true if v is an int.
func (v Value) AsInt() (int64, bool) {
	if v.kind != IntKind {
		return 0, false
	}
	return int64(v.num), true
}

// AsFloat returns the number as a float64 and true if v is a float or an
// int (ints are converted).
func (v Value) AsFloat() (float64, bool) {
	switch v.kind {
	case FloatKind:
		return math.Float64frombits(v.num), true
	case IntKind:
		return float64(int64(v.num)), true
	}
	return 0, false
}

// AsString returns the string and true if v is a string.
func (v Value) AsString() (string, bool) {
	if v.kind != StringKind {
		return "", false
	}
	return v.text(), true
}

// AsBytes returns a copy of the bytes and true if v is a byte string.
func (v Value) AsBytes() ([]byte, bool) {
	if v.kind != BytesKind {
		return nil, false
	}
	return []byte(v.text()), true
}

// Len returns the number of entries of a map, items of a list, bytes of a
// string or byte string, and 0 for anything else.
func (v Value) Len() int {
	switch v.kind {
	case MapKind, ListKind:
		return int(v.num)
	case StringKind, BytesKind:
		return int(v.num)
	}
	return 0
}

// Get returns the value under key and true if v is a map holding key.
func (v Value) Get(key string) (Value, bool) {
	if v.kind != MapKind {
		return Value{}, false
	}
	return mapGet(v.mroot(), key)
}

// Has reports whether v is a map holding key.
func (v Value) Has(key string) bool {
	_, ok := v.Get(key)
	return ok
}

// Index returns the item at i and true if v is a list and 0 <= i < Len.
func (v Value) Index(i int) (Value, bool) {
	if v.kind != ListKind || i < 0 || i >= int(v.num) {
		return Value{}, false
	}
	return listGet(v.lroot(), i), true
}

// At returns the value at path p and true if every segment resolves.
func (v Value) At(p Path) (Value, bool) {
	for _, s := range p {
		var ok bool
		switch v.kind {
		case MapKind:
			v, ok = mapGet(v.mroot(), s.Token())
		case ListKind:
			var i int
			if i, ok = s.listIndex(); ok {
				v, ok = v.Index(i)
			}
		}
		if !ok {
			return Value{}, false
		}
	}
	return v, true
}

// Range iterates a map's entries in ascending key order (byte-wise string
// order). It yields nothing for non-maps.
func (v Value) Range() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if v.kind == MapKind {
			mapEach(v.mroot(), yield)
		}
	}
}

// Keys iterates a map's keys in ascending order.
func (v Value) Keys() iter.Seq[string] {
	return func(yield func(string) bool) {
		if v.kind == MapKind {
			mapEach(v.mroot(), func(k string, _ Value) bool { return yield(k) })
		}
	}
}

// Items iterates a list's items with their indices, in order. It yields
// nothing for non-lists.
func (v Value) Items() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		if v.kind == ListKind {
			listEach(v.lroot(), 0, yield)
		}
	}
}

// Equal reports deep equality. Kinds must match: Int(1) is not Float(1).
// Floats compare by value (so NaN is unequal to itself and 0 == -0).
// Shared subtrees are skipped, so comparing two versions of a large
// structure costs roughly the size of their difference.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case Invalid, NullKind:
		return true
	case BoolKind, IntKind:
		return v.num == o.num
	case FloatKind:
		return math.Float64frombits(v.num) == math.Float64frombits(o.num)
	case StringKind, BytesKind:
		return v.text() == o.text()
	case MapKind:
		return v.num == o.num && mapNodeEqual(v.mroot(), o.mroot())
	case ListKind:
		return v.num == o.num && listNodeEqual(v.lroot(), o.lroot())
	}
	return false
}

// Same reports whether v and o are the same value instance: for maps and
// lists, the same root node (pointer identity, so Same means "shared, not
// copied"); for scalars it is Equal. Two empty containers of the same kind
// are Same.
func (v Value) Same(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case MapKind:
		return v.mroot() == o.mroot() && v.num == o.num
	case ListKind:
		return v.lroot() == o.lroot() && v.num == o.num
	}
	return v.Equal(o)
}

// identical is Same without the Equal fallback cost for scalars.
func (v Value) identical(o Value) bool {
	return v.kind == o.kind && v.num == o.num && v.ref == o.ref
}

// With returns a copy of map v with key set to x (x Invalid deletes). It
// costs O(log n) and shares everything else with v.
func (v Value) With(key string, x Value) (Value, error) {
	if v.kind != MapKind {
		return v, &PathError{Op: "set", Path: Path{Key(key)}, Err: ErrWrongType}
	}
	if x.kind == Invalid {
		return v.Without(key), nil
	}
	return v.mapSet(nil, key, x), nil
}

// Without returns a copy of map v without key (v itself if key is absent
// or v is not a map).
func (v Value) Without(key string) Value {
	if v.kind != MapKind {
		return v
	}
	nv, _, _ := v.mapDelete(nil, key)
	return nv
}

// SetIndex returns a copy of list v with item i replaced by x.
func (v Value) SetIndex(i int, x Value) (Value, error) {
	if v.kind != ListKind {
		return v, &PathError{Op: "set", Path: Path{Index(i)}, Err: ErrWrongType}
	}
	if i < 0 || i >= int(v.num) {
		return v, &PathError{Op: "set", Path: Path{Index(i)}, Err: ErrIndexRange}
	}
	nv, _ := v.listSet(nil, i, x.orNull())
	return nv, nil
}

// Insert returns a copy of list v with xs inserted before index i
// (0 <= i <= Len).
func (v Value) Insert(i int, xs ...Value) (Value, error) {
	if v.kind != ListKind {
		return v, &PathError{Op: "insert", Path: Path{Index(i)}, Err: ErrWrongType}
	}
	if i < 0 || i > int(v.num) {
		return v, &PathError{Op: "insert", Path: Path{Index(i)}, Err: ErrIndexRange}
	}
	for j, x := range xs {
		v = v.listInsert(nil, i+j, x.orNull())
	}
	return v, nil
}

// RemoveRange returns a copy of list v without the n items starting at i.
func (v Value) RemoveRange(i, n int) (Value, error) {
	if v.kind != ListKind {
		return v, &PathError{Op: "remove", Path: Path{Index(i)}, Err: ErrWrongType}
	}
	if i < 0 || n < 0 || i+n > int(v.num) {
		return v, &PathError{Op: "remove", Path: Path{Index(i)}, Err: ErrIndexRange}
	}
	for range n {
		v, _ = v.listRemove(nil, i)
	}
	return v, nil
}

// internal container edits with an ownership token

func (v Value) mapSet(ed *edit, key string, x Value) Value {
	root, added := mapSet(ed, v.mroot(), key, x)
	n := v.num
	if added {
		n++
	}
	return mapValue(n, root)
}

func (v Value) mapDelete(ed *edit, key string) (Value, Value, bool) {
	root, old, ok := mapDelete(ed, v.mroot(), key)
	if !ok {
		return v, Value{}, false
	}
	return mapValue(v.num-1, root), old, true
}

func (v Value) listSet(ed *edit, i int, x Value) (Value, Value) {
	root, old := listSet(ed, v.lroot(), i, x)
	return listValue(v.num, root), old
}

func (v Value) listInsert(ed *edit, i int, x Value) Value {
	return listValue(v.num+1, listInsert(ed, v.lroot(), i, x))
}

func (v Value) listRemove(ed *edit, i int) (Value, Value) {
	root, old := listRemove(ed, v.lroot(), i)
	return listValue(v.num-1, root), old
}

// isContainer reports whether v is a map or a list.
func (v Value) isContainer() bool { return v.kind == MapKind || v.kind == ListKind }
