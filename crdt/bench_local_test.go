package crdt

import (
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

// The crdt part of W4 alone: commitLocal fed the patches draft's produce
// hands over for W4's inserts (same positions), without running the
// produce. The list half of BenchmarkLocalCommit: seq insert, element
// register, op building, change block and op log.
func BenchmarkLocalCommitList(b *testing.B) {
	ps := make([][]draft.Patch, benchN4)
	r := mulberry32(4)
	for i := range ps {
		pos := int(r.next() * float64(i+1))
		ps[i] = []draft.Patch{{Op: draft.OpAdd, Path: draft.Path{draft.Key("l"), draft.Index(pos)}, Value: draft.Int(int64(i))}}
	}
	benchLocalCommit(b, nil, func(x *draft.Draft) error { return x.Set(draft.Path{draft.Key("l")}, draft.EmptyList()) },
		func(i int) []draft.Patch { return ps[i] }, benchN4, "inserts")
}
