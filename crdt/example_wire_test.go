package crdt_test

import (
	"fmt"

	"github.com/syncmesh/syncmesh/draft"
)

// Anti-entropy over bytes: each replica serves what the other's version
// lacks as EncodeChange messages back to back (the op log's bytes), and the
// other applies them with ApplyEncoded, which decodes into room it reuses.
func ExampleDoc_ApplyEncoded() {
	a, b := newDoc(1, 1000, nil), newDoc(2, 1000, nil)
	setAt(a, "/title", draft.String("draft"))
	setAt(b, "/votes", draft.Int(3))

	toB, err := a.AppendEncodedSince(nil, b.Version(), 0)
	if err != nil {
		panic(err)
	}
	toA, err := b.AppendEncodedSince(nil, a.Version(), 0)
	if err != nil {
		panic(err)
	}
	ra, err := a.ApplyEncoded(toA)
	if err != nil {
		panic(err)
	}
	rb, err := b.ApplyEncoded(toB)
	if err != nil {
		panic(err)
	}
	fmt.Println(ra.Applied, rb.Applied)
	fmt.Println(show(a))
	fmt.Println(show(a) == show(b))

	// Nothing is left to send either way.
	rest, _ := a.AppendEncodedSince(nil, b.Version(), 0)
	fmt.Println(len(rest))
	// Output:
	// 1 1
	// {"title":"draft","votes":3}
	// true
	// 0
}
