package draft

// Diff returns patches from a to b and the inverse patches from b to a, in
// the shape Immer generates: for maps, add/replace/remove per key; for
// lists, a replace for every index whose item changed, then adds at the
// end (or removes from the end, highest index first). Containers of the
// same kind at the same path are compared recursively; shared subtrees are
// skipped, so diffing two versions of one state costs about the size of
// their difference, while diffing unrelated trees costs their size.
func Diff(a, b Value) (patches, inverse []Patch) {
	return diffInto(nil, Path{}, a, b), diffInto(nil, Path{}, b, a)
}

// ImmerPatches expands patches (for example Produce's intent patches) into
// the patches Immer would have produced for the same change, and their
// inverse: list inserts, removes and moves become index replaces plus adds
// or removes at the end. It applies patches to base (strictly) to find the
// result, so it costs an Apply plus a Diff.
func ImmerPatches(base Value, patches []Patch) (immer, inverse []Patch, err error) {
	next, err := Apply(base, patches)
	if err != nil {
		return nil, nil, err
	}
	immer, inverse = Diff(base, next)
	return immer, inverse, nil
}

func diffInto(out []Patch, at Path, a, b Value) []Patch {
	if a.Same(b) {
		return out
	}
	switch {
	case a.kind == MapKind && b.kind == MapKind:
		return diffMapNodes(out, at, a.mroot(), b.mroot())
	case a.kind == ListKind && b.kind == ListKind:
		return diffLists(out, at, a, b)
	case a.Equal(b):
		return out
	}
	return append(out, Patch{Op: OpReplace, Path: at.append(), Value: b})
}

func diffMapNodes(out []Patch, at Path, a, b *mnode) []Patch {
	if a == b {
		return out
	}
	if a != nil && b != nil && aligned(a, b) {
		ak, bk := a.kids(), b.kids()
		for i := range ak {
			out = diffMapNodes(out, at, ak[i], bk[i])
		}
		return out
	}
	var ak, bk []string
	var av, bv []Value
	mapEach(a, func(k string, v Value) bool { ak, av = append(ak, k), append(av, v); return true })
	mapEach(b, func(k string, v Value) bool { bk, bv = append(bk, k), append(bv, v); return true })
	i, j := 0, 0
	for i < len(ak) || j < len(bk) {
		switch {
		case j >= len(bk) || (i < len(ak) && ak[i] < bk[j]):
			out = append(out, Patch{Op: OpRemove, Path: at.append(Key(ak[i]))})
			i++
		case i >= len(ak) || bk[j] < ak[i]:
			out = append(out, Patch{Op: OpAdd, Path: at.append(Key(bk[j])), Value: bv[j]})
			j++
		default:
			out = diffInto(out, at.append(Key(ak[i])), av[i], bv[j])
			i++
			j++
		}
	}
	return out
}

func diffLists(out []Patch, at Path, a, b Value) []Patch {
	n := min(a.Len(), b.Len())
	for i := range n {
		out = diffInto(out, at.append(Index(i)), listGet(a.lroot(), i), listGet(b.lroot(), i))
	}
	for i := n; i < b.Len(); i++ {
		out = append(out, Patch{Op: OpAdd, Path: at.append(Index(i)), Value: listGet(b.lroot(), i)})
	}
	for i := a.Len() - 1; i >= n; i-- {
		out = append(out, Patch{Op: OpRemove, Path: at.append(Index(i))})
	}
	return out
}
