// Package mesh is the embeddable syncmesh node: it gossips crdt operations
// between peers over hashicorp/memberlist and repairs gaps with anti-entropy.
//
// This package is being built; see docs/protocol.md.
package mesh
