package draft

import "errors"

// errNoop aborts an update that would not change anything; update returns
// the tree unchanged and callers treat it as success.
var errNoop = errors.New("draft: no-op")

// update descends from v along p and replaces the value found there with
// fn's result, copying (or, for nodes owned by ed, changing in place) only
// the nodes on the path. On error v is returned unchanged.
func update(ed *edit, v Value, p Path, fn func(Value) (Value, error)) (Value, error) {
	if len(p) == 0 {
		return fn(v)
	}
	s := p[0]
	switch v.kind {
	case MapKind:
		root, err := mapUpdate(ed, v.mroot(), s.Token(), func(c Value) (Value, error) {
			return update(ed, c, p[1:], fn)
		})
		if err != nil || root == v.mroot() {
			return v, err
		}
		return mapValue(v.num, root), nil
	case ListKind:
		i, err := itemIndex(v, s)
		if err != nil {
			return v, err
		}
		c := listGet(v.lroot(), i)
		nc, err := update(ed, c, p[1:], fn)
		if err != nil {
			return v, err
		}
		if nc.identical(c) && !(ed != nil && rootEdit(nc) == ed) {
			return v, nil // unchanged, or changed in place below nodes ed has
		}
		nv, _ := v.listSet(ed, i, nc)
		return nv, nil
	case Invalid:
		return v, ErrNotFound
	}
	return v, ErrWrongType
}

// itemIndex resolves s to the index of an existing item of list l.
func itemIndex(l Value, s Segment) (int, error) {
	i, ok := s.listIndex()
	if !ok {
		if s.kind() == segEnd || s.kind() == segIndex {
			return 0, ErrIndexRange
		}
		return 0, ErrWrongType
	}
	if i >= int(l.num) {
		return 0, ErrIndexRange
	}
	return i, nil
}

// insertIndex resolves s to an insertion position in list l (0..Len, with
// End meaning Len).
func insertIndex(l Value, s Segment) (int, error) {
	if s.kind() == segEnd {
		return int(l.num), nil
	}
	i, ok := s.listIndex()
	if !ok {
		if s.kind() == segIndex {
			return 0, ErrIndexRange
		}
		return 0, ErrWrongType
	}
	if i > int(l.num) {
		return 0, ErrIndexRange
	}
	return i, nil
}

// rootEdit returns the token of a container's root node (nil for
// anything else).
func rootEdit(v Value) *edit {
	switch {
	case v.kind == MapKind && v.mroot() != nil:
		return v.mroot().ed
	case v.kind == ListKind && v.lroot() != nil:
		return v.lroot().ed
	}
	return nil
}

// ownedBy reports whether v's root node may be changed in place by ed (ed
// made it, or ed's owner made it in ed's epoch), in which case handing v
// out requires the edit to stop changing nodes in place. A root that is
// not ed's holds no node of ed's below it: a node is changed only after
// every node above it on its path was taken over (copied or adopted),
// and values from outside an owned operation hold no node of its epoch
// (see Owner).
func ownedBy(v Value, ed *edit) bool {
	var x *edit
	switch v.kind {
	case MapKind:
		if v.mroot() == nil {
			return false
		}
		x = v.mroot().ed
	case ListKind:
		if v.lroot() == nil {
			return false
		}
		x = v.lroot().ed
	default:
		return false
	}
	return x != nil && (x == ed || ed.adopts(x))
}
