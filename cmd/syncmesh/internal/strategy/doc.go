// Package strategy reads conflict-strategy tables from files and names the
// strategy a table applies to a path, for the command line (node
// --strategies, the demo's explanations, the conflicts endpoint).
//
// Invariants:
//   - Of applies crdt.Strategies' documented matching rule (same length,
//     literal or "*" per segment, list elements only "*", the most specific
//     pattern wins, last-writer-wins when nothing matches); it reads the
//     table through Rules and never changes it.
//   - Parse accepts only the strategies a file can name (lww, multi,
//     counter, max, min) and reports the offending pattern otherwise.
//
// Usage:
//
//	st, err := strategy.Load("strategies.yaml")
//	kind, pattern := strategy.Of(st, node.State(), draft.MustParsePointer("/counters/visits"))
package strategy
