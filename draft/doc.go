// Package draft is an Immer for Go: immutable JSON-like state changed
// through drafts, with patches and inverse patches describing each change.
//
// # State
//
// A Value is an immutable tree: Null, Bool, Int (int64), Float (float64),
// String, Bytes, Map (string keys) and List. The zero Value has Kind
// Invalid and means "absent", which is different from Null. Maps are
// persistent B+trees in key order and lists are persistent counted
// B+trees, so a one-key change to a map of a million keys, or an insert in
// the middle of a long list, costs O(log n) and shares everything else.
//
//	v := draft.MapOf(map[string]draft.Value{
//		"count": draft.Int(0),
//		"todos": draft.ListOf(draft.String("a")),
//	})
//	n, ok := v.At(draft.P("count"))           // Int(0), true
//	for k, x := range v.Range() { _, _ = k, x } // keys in ascending order
//	_ = v.Kind(); _ = v.Len(); _, _ = v.Get("todos"); _, _ = n.AsInt()
//	b, _ := json.Marshal(v)                    // {"count":0,"todos":["a"]}
//	v2, _ := draft.FromGo(map[string]any{"a": 1}) // and v.ToGo()
//
// # Changing state
//
//	next, patches, inverse, err := draft.Produce(v, func(d *draft.Draft) error {
//		if err := d.Root().Increment("count", draft.Int(1)); err != nil {
//			return err
//		}
//		return d.List("todos").Append(draft.String("b"))
//	})
//
// Draft operations are addressed by Path (draft.P("users", "u1", 3),
// draft.ParsePointer("/users/u1/3")) or through typed sub-drafts:
// d.Map("users").Map("u1").Set("age", draft.Int(3)),
// d.List("todos").Insert(0, x), .RemoveRange(i, n), .Move(from, to),
// .Increment(i, delta). Errors are *PathError values that unwrap to
// ErrNotFound, ErrWrongType, ErrIndexRange, ...; a finished draft returns
// ErrFinished. NewDraft/Finish are the manual form; Original, Current and
// IsModified read the draft.
//
// # Patches
//
// Produce returns RFC 6902 patches as a net diff of the recipe and the
// inverse patches from the same pass. List changes are intent, never
// Immer's cascade of index replaces: inserting n items at i is n adds at
// i..i+n-1; removing n items at i is n removes at i; a move is one move;
// an increment is a replace with the new value plus Delta. ImmerPatches
// expands patches into Immer's form for interoperability. Apply applies
// any RFC 6902 patch list atomically (strict by default, Lenient() to
// match Immer). Patches marshal to JSON and msgpack.
//
// # Invariants
//
//   - A published Value (any Value returned by this package) is never
//     modified; it is safe to share between goroutines.
//   - Produce with a recipe that changes nothing (or changes things back)
//     returns base itself and no patches; a failing recipe returns base.
//   - Apply(base, patches) equals next, and Apply(next, inverse) equals
//     base.
//   - Subtrees a recipe did not touch are the same nodes in base and next
//     (Value.Same reports pointer identity).
//   - Patch order is deterministic (never Go map order); map iteration and
//     encoding are in ascending key order.
//   - Inside a draft, nodes created by that draft are changed in place
//     (transient mode); a node is never changed after anything outside the
//     draft can see it (Get and Current freeze the draft's nodes).
//   - Owned mode (Owner, ProduceForwardOwned, ProduceForwardOwnedAppend,
//     ProduceOwned, ApplyOwned):
//     nodes an owner made stay changeable by its later owned operations
//     until Freeze ends its epoch (O(1)). Nothing reachable from a Value
//     that left the owner is ever written again: a read inside an owned
//     recipe that yields a container, a patch value that is one, and
//     Original freeze the owner first, and the owner of a state freezes it
//     before handing it out. An owned operation is atomic: if the recipe
//     fails or panics, a patch does not apply, the recipe changes nothing,
//     or Revert rejects the result, the adopted nodes get their saved
//     contents back and base is exactly as it was. Results (state and
//     patches) are those of the plain functions. An unfrozen owned state
//     belongs to one goroutine; a frozen one is safe to share.
//
// # Owned mode
//
//	var o draft.Owner                // e.g. a field of a replica
//	next, patches, err := draft.ProduceForwardOwned(state, &o, recipe)
//	state = next                     // the old state is not used again
//	o.Freeze()                       // before handing state out
package draft
