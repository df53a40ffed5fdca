package draft

import "errors"

// ApplyPatches applies an RFC 6902 patch list to the draft, in order, with
// the same rules as Apply (strict by default, Lenient to forgive what Immer
// forgives). Each patch becomes the draft operation it means, so the
// draft's own patches keep list intent: an add into a list is an insert, a
// remove from a list removes one item, and a move within one list is a
// move.
//
// It is not atomic on its own: when patch i fails, patches before it have
// changed the draft. Inside Produce, return the error from the recipe and
// the whole produce is discarded, which is how to apply a patch document
// atomically. The error is a *PatchError naming the failing patch; a failed
// test unwraps to ErrTestFailed.
func (d *Draft) ApplyPatches(patches []Patch, opts ...ApplyOption) error {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
	for i, p := range patches {
		if err := d.applyPatch(p, cfg.lenient); err != nil {
			return &PatchError{Index: i, Patch: p, Err: err}
		}
	}
	return nil
}

func (d *Draft) applyPatch(p Patch, lenient bool) error {
	switch p.Op {
	case OpAdd, OpReplace, OpTest:
		if !p.Value.IsValid() {
			return ErrBadPatch
		}
	}
	switch p.Op {
	case OpAdd:
		return d.addAt(p.Path, p.Value, lenient)
	case OpReplace:
		if _, err := d.Get(p.Path); err != nil {
			if lenient && errors.Is(err, ErrNotFound) && d.parentKind(p.Path) == MapKind {
				return d.Set(p.Path, p.Value)
			}
			if lenient && errors.Is(err, ErrIndexRange) && d.parentKind(p.Path) == ListKind {
				return d.Append(p.Path[:len(p.Path)-1], p.Value)
			}
			return err
		}
		return d.Set(p.Path, p.Value)
	case OpRemove:
		err := d.Delete(p.Path)
		if err != nil && lenient && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrIndexRange)) {
			return nil
		}
		return err
	case OpTest:
		got, err := d.Get(p.Path)
		if err != nil {
			return err
		}
		if !jsonEqual(got, p.Value) {
			return ErrTestFailed
		}
		return nil
	case OpMove:
		return d.movePatch(p, lenient)
	case OpCopy:
		x, err := d.Get(p.From)
		if err != nil {
			return err
		}
		return d.addAt(p.Path, x, lenient)
	}
	return ErrBadPatch
}

// addAt is RFC 6902 add: insert into a list (index or End), add or replace
// a map entry, or replace the root.
func (d *Draft) addAt(path Path, x Value, lenient bool) error {
	if len(path) == 0 {
		return d.Set(path, x)
	}
	if d.parentKind(path) == ListKind {
		err := d.Insert(path, x)
		if err != nil && lenient && errors.Is(err, ErrIndexRange) {
			return d.Append(path[:len(path)-1], x)
		}
		return err
	}
	return d.Set(path, x)
}

// movePatch is RFC 6902 move: remove from From, then add at Path. A move
// between two positions of one list becomes the draft's Move, so it is
// reported as one move rather than a remove and an add.
func (d *Draft) movePatch(p Patch, lenient bool) error {
	if p.Path.Equal(p.From) {
		_, err := d.Get(p.From)
		return err
	}
	if p.Path.HasPrefix(p.From) {
		return ErrBadPatch
	}
	if n := len(p.From); n > 0 && len(p.Path) == n && p.Path[:n-1].Equal(p.From[:n-1]) &&
		d.parentKind(p.From) == ListKind {
		list, _ := d.s.peek(p.From[:n-1])
		from, ok := p.From[n-1].AsIndex()
		if !ok || from >= list.Len() {
			return ErrIndexRange
		}
		to, ok := p.Path[n-1].AsIndex()
		if p.Path[n-1].IsEnd() {
			to, ok = list.Len()-1, true
		}
		if !ok || to >= list.Len() {
			return ErrIndexRange
		}
		return d.Move(p.From[:n-1], from, to)
	}
	x, err := d.Get(p.From)
	if err != nil {
		return err
	}
	if err := d.Delete(p.From); err != nil {
		return err
	}
	return d.addAt(p.Path, x, lenient)
}

// parentKind is the kind of the container that the last segment of path
// addresses, or Invalid when there is none.
func (d *Draft) parentKind(path Path) Kind {
	if len(path) == 0 {
		return Invalid
	}
	parent, _ := d.s.peek(path[:len(path)-1])
	return parent.Kind()
}
