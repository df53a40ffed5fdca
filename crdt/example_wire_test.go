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

// Writes that a later write of their own author overwrote travel as gaps:
// a change with no ops standing for their seqs, sent only together with
// the writes that overwrote them.
func ExampleChange_IsGap() {
	a, b := newDoc(1, 1000, nil), newDoc(2, 1000, nil)
	for i := range 5 {
		setAt(a, "/counter", draft.Int(int64(i)))
	}
	setAt(a, "/title", draft.String("done"))

	for _, c := range a.ChangesSince(b.Version(), 0) {
		if c.IsGap() {
			fmt.Printf("gap %d..%d (overwritten by %d)\n", c.StartSeq, c.EndSeq(), c.Until)
		} else {
			fmt.Printf("change %d..%d\n", c.StartSeq, c.EndSeq())
		}
	}
	if _, err := b.Apply(a.ChangesSince(b.Version(), 0)...); err != nil {
		panic(err)
	}
	fmt.Println(show(b), b.VersionOf(1))
	// Output:
	// gap 1..4 (overwritten by 5)
	// change 5..5
	// change 6..6
	// {"counter":4,"title":"done"} 6
}
