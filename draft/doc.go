// Package draft is an Immer for Go: immutable JSON-like state changed through
// drafts, with patches and inverse patches describing each change.
//
// This package is being built; see docs/draft.md for the design.
package draft
