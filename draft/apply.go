package draft

import "math"

// ApplyOption changes how Apply treats patches. Options are stateless
// functions, safe to share between goroutines.
type ApplyOption func(*applyConfig)

type applyConfig struct {
	lenient bool
}

// Lenient makes Apply forgive what Immer's applyPatches forgives: replace
// of a missing map key adds it, remove of a missing key or index does
// nothing, and an add or replace at a list index past the end appends.
// Missing parents, wrong types and failed tests are still errors.
func Lenient() ApplyOption { return func(c *applyConfig) { c.lenient = true } }

// Apply applies patches to state in order and returns the new state. It is
// atomic: on any error it returns state itself and a *PatchError naming
// the failing patch. By default it is strict RFC 6902: add needs an
// existing parent and an index in 0..Len (or "-"); remove and replace need
// an existing target; move and copy need an existing source, and move may
// not move a value into its own child; a failed test fails everything.
// Delta members are ignored (Value is authoritative). Untouched subtrees
// are shared with state. Apply is safe for concurrent use (it has no
// shared state); it never modifies state or patches.
func Apply(state Value, patches []Patch, opts ...ApplyOption) (Value, error) {
	a := applier{ed: new(edit)}
	a.configure(opts)
	return a.all(state, patches)
}

type applier struct {
	ed      *edit
	lenient bool
	owner   *Owner // ApplyOwned's owner (nil for Apply)
}

func (a *applier) configure(opts []ApplyOption) {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
	a.lenient = cfg.lenient
}

// all applies patches in order, returning state itself on error.
func (a *applier) all(state Value, patches []Patch) (Value, error) {
	v := state
	for i, p := range patches {
		nv, err := a.one(v, p)
		if err != nil {
			return state, &PatchError{Index: i, Patch: p, Err: err}
		}
		v = nv
	}
	return v, nil
}

func (a *applier) one(v Value, p Patch) (Value, error) {
	switch p.Op {
	case OpAdd, OpReplace, OpTest:
		if !p.Value.IsValid() {
			return v, ErrBadPatch
		}
	}
	switch p.Op {
	case OpAdd:
		return a.add(v, p.Path, p.Value)
	case OpReplace:
		return a.replace(v, p.Path, p.Value)
	case OpRemove:
		nv, _, err := a.remove(v, p.Path)
		return nv, err
	case OpTest:
		got, ok := v.At(p.Path)
		if !ok {
			return v, ErrNotFound
		}
		if !jsonEqual(got, p.Value) {
			return v, ErrTestFailed
		}
		return v, nil
	case OpMove:
		if p.Path.Equal(p.From) {
			if _, ok := v.At(p.From); !ok {
				return v, ErrNotFound
			}
			return v, nil
		}
		if p.Path.HasPrefix(p.From) {
			return v, ErrBadPatch
		}
		nv, x, err := a.remove(v, p.From)
		if err != nil {
			return v, err
		}
		if !x.IsValid() { // lenient remove of a missing source
			return v, ErrNotFound
		}
		return a.add(nv, p.Path, x)
	case OpCopy:
		x, ok := v.At(p.From)
		if !ok {
			return v, ErrNotFound
		}
		nv, err := a.add(v, p.Path, x)
		// x now sits in two places: stop changing owned nodes in place
		// (under an owner, end its epoch; the undo log still restores
		// state if a later patch fails).
		if a.owner != nil {
			a.ed = a.owner.freezeNow()
		} else {
			a.ed = new(edit)
		}
		return nv, err
	}
	return v, ErrBadPatch
}

func (a *applier) add(v Value, p Path, x Value) (Value, error) {
	if len(p) == 0 {
		return x, nil
	}
	last := p[len(p)-1]
	return update(a.ed, v, p[:len(p)-1], func(c Value) (Value, error) {
		switch c.kind {
		case MapKind:
			return c.mapSet(a.ed, last.Token(), x), nil
		case ListKind:
			i, err := insertIndex(c, last)
			if err == ErrIndexRange && a.lenient {
				i, err = int(c.num), nil
			}
			if err != nil {
				return c, err
			}
			return c.listInsert(a.ed, i, x), nil
		case Invalid:
			return c, ErrNotFound
		}
		return c, ErrWrongType
	})
}

func (a *applier) replace(v Value, p Path, x Value) (Value, error) {
	if len(p) == 0 {
		if !v.IsValid() && !a.lenient {
			return v, ErrNotFound
		}
		return x, nil
	}
	last := p[len(p)-1]
	return update(a.ed, v, p[:len(p)-1], func(c Value) (Value, error) {
		switch c.kind {
		case MapKind:
			k := last.Token()
			if _, ok := mapGet(c.mroot(), k); !ok && !a.lenient {
				return c, ErrNotFound
			}
			return c.mapSet(a.ed, k, x), nil
		case ListKind:
			i, err := itemIndex(c, last)
			if err == ErrIndexRange && a.lenient {
				return c.listInsert(a.ed, int(c.num), x), nil
			}
			if err != nil {
				return c, err
			}
			nc, _ := c.listSet(a.ed, i, x)
			return nc, nil
		case Invalid:
			return c, ErrNotFound
		}
		return c, ErrWrongType
	})
}

// remove deletes the value at p and returns it (Invalid when a lenient
// remove found nothing).
func (a *applier) remove(v Value, p Path) (Value, Value, error) {
	if len(p) == 0 {
		return v, Value{}, ErrBadPatch
	}
	last := p[len(p)-1]
	var old Value
	nv, err := update(a.ed, v, p[:len(p)-1], func(c Value) (Value, error) {
		switch c.kind {
		case MapKind:
			nc, o, ok := c.mapDelete(a.ed, last.Token())
			if !ok {
				if a.lenient {
					return c, nil
				}
				return c, ErrNotFound
			}
			old = o
			return nc, nil
		case ListKind:
			i, err := itemIndex(c, last)
			if err == ErrIndexRange && a.lenient {
				return c, nil
			}
			if err != nil {
				return c, err
			}
			nc, o := c.listRemove(a.ed, i)
			old = o
			return nc, nil
		case Invalid:
			return c, ErrNotFound
		}
		return c, ErrWrongType
	})
	return nv, old, err
}

// jsonEqual is Equal with JSON's view of numbers: Int(1) equals Float(1).
// It is what a test patch checks, since JSON does not keep the two apart.
func jsonEqual(a, b Value) bool {
	if a.kind != b.kind {
		x, ok1 := a.AsFloat()
		y, ok2 := b.AsFloat()
		return ok1 && ok2 && x == y && !math.IsNaN(x)
	}
	switch a.kind {
	case MapKind:
		if a.num != b.num {
			return false
		}
		if a.mroot() == b.mroot() {
			return true
		}
		eq := true
		mapEach(a.mroot(), func(k string, x Value) bool {
			y, ok := mapGet(b.mroot(), k)
			eq = ok && jsonEqual(x, y)
			return eq
		})
		return eq
	case ListKind:
		if a.num != b.num {
			return false
		}
		if a.lroot() == b.lroot() {
			return true
		}
		eq := true
		listEach(a.lroot(), 0, func(i int, x Value) bool {
			eq = jsonEqual(x, listGet(b.lroot(), i))
			return eq
		})
		return eq
	}
	return a.Equal(b)
}
