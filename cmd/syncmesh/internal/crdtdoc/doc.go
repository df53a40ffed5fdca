// Package crdtdoc adapts a *crdt.Doc to mesh.LocalDocument so that the
// command line can run real mesh nodes.
//
// It exists because mesh does not yet ship its own crdt adapter; when it
// does, the command line switches to it and this package goes away.
//
// Invariants:
//   - Every method takes the adapter's mutex, so the document can be read
//     (State, Conflicts) from HTTP goroutines while the mesh Node drives it.
//   - Change.Data is crdt.EncodeChange of exactly one crdt change; Start and
//     End are that change's first and last sequence numbers.
//   - MergeSnapshot is not supported yet (crdt has no snapshot merge): it
//     returns ErrNoSnapshotMerge, and the mesh falls back to anti-entropy.
//
// Usage:
//
//	doc, err := crdtdoc.New(crdtdoc.Config{Replica: r, Strategies: table})
//	cfg := mesh.LocalConfig()
//	cfg.Document = doc
//	node, err := mesh.New(cfg)
package crdtdoc
