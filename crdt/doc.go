// Package crdt holds the replicated JSON document: patches from a draft become
// operations stamped with hybrid logical clock timestamps, and replicas that
// have received the same set of operations hold identical state.
//
// This package is being built; see docs/crdt.md and docs/semantics.md.
package crdt
