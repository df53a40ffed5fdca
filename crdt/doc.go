// Package crdt holds the replicated JSON document: patches from a draft
// become operations stamped with hybrid logical clock timestamps, and
// replicas that have received the same set of operations hold identical
// state, whatever the order, duplication or delay of delivery.
//
// # Model
//
// The document is a tree of containers (maps and lists; the root is a map).
// A container is identified by its path, whose segments are map keys and
// list-element ids (the OpID of the insert that created the element), so two
// replicas that create /settings concurrently fill one container. Each map
// key and each list element holds a multi-value register: the set of live
// writes {id, timestamp, value}, where a value is a scalar or a container
// marker. A write supersedes exactly the entries its author had seen: those
// it lists (Pred) and its author's own earlier entries at that register;
// deleting or overwriting a container also carries the author's version
// vector, removing everything below that it covers (observed-remove).
// Counters keep one contribution per replica. The path's Strategy decides
// what a register shows; Conflicts lists the concurrent values. Lists order
// their slots with the Fugue sequence CRDT in crdt/internal/seq.
//
// # Invariants
//
//   - Convergence: the CRDT state (and so State, Conflicts and the encoded
//     Snapshot) is a function of the set of operations applied; Apply is
//     deterministic, commutative, associative and idempotent.
//   - Causality: an op is applied only after every op it references (its
//     author's earlier ops, Pred, the context vector, list origins, the
//     elements on its path, counter marks). Others wait in the bounded
//     pending buffer; nothing is applied against the wrong base.
//   - Version vector: vv[r] is the highest contiguous seq of replica r
//     applied; op X is applied iff vv[X.Replica] >= X.Seq. A change whose
//     ops are all covered is a duplicate; a partly covered one applies only
//     its uncovered suffix.
//   - Gaps: a reply to a peer (ChangesSince and its encoded forms) may send
//     a run of writes that a later write of their own author overwrote as a
//     gap (Change.IsGap): it advances the version vector and changes no
//     state, and it is sent only in a reply that also holds the overwriting
//     writes (up to its Until), which remove what the elided writes did.
//     Gaps are logged and relayed as they came; LoggedSince returns the log
//     as kept, for durable stores.
//   - No silent loss: every write is either live (shown, or among
//     Conflicts at its register or an enclosing one) or was superseded by an
//     op whose author had seen it (listed it in Pred or covered it with a
//     context).
//   - Materialised state: State is kept in step with the registers
//     incrementally; it equals a full render of the registers after every
//     call (the property test checks this).
//   - Snapshot merge is the causal-context join: commutative, associative,
//     idempotent, and equal to applying the changes summarised.
//   - Time: the Doc reads time only through its clock. A remote change more
//     than the clock's MaxDrift ahead is quarantined, not applied, and does
//     not move the clock; RetryQuarantined applies it once time catches up.
//   - Encodings are deterministic (no map ranging into output), versioned
//     and bounds-checked; decoders never panic.
//
// A Doc is not safe for concurrent use: mesh serialises access. Values it
// returns (State, Change, Snapshot, patches) are immutable and may be shared.
//
// # Usage
//
//	clk, _ := clock.New(clock.DefaultConfig(1))
//	doc, _ := crdt.New(crdt.DefaultConfig(1, clk))
//	ch, _ := doc.Update(func(d *draft.Draft) error {
//		return d.Set(draft.P("todos"), draft.ListOf(draft.String("milk")))
//	})
//	wire := crdt.EncodeChange(ch) // send to peers
//	// on a peer:
//	c, _ := crdt.DecodeChange(wire)
//	res, _ := peer.Apply(c) // res.Patches: what changed in peer.State()
//
// See docs/semantics.md for the rules and strategies and docs/crdt.md for
// the design and encodings.
package crdt
