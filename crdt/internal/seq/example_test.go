package seq_test

import (
	"fmt"
	"strings"

	"github.com/syncmesh/syncmesh/crdt/internal/seq"
)

// Two replicas start from the same list "ac", then type concurrently at the
// same place: replica 1 types "XY" forward, replica 2 types "pq" backward
// (q first, then p before it). After exchanging their inserts both hold the
// same list, and neither run is split by the other.
func Example() {
	type insert struct {
		id seq.ID
		o  seq.Origins
	}
	text := map[seq.ID]string{}
	show := func(l *seq.List) string {
		var b strings.Builder
		for id, visible := range l.All() {
			if visible {
				b.WriteString(text[id])
			}
		}
		return b.String()
	}
	local := func(l *seq.List, at int, id seq.ID, s string) insert {
		o, err := l.InsertAt(at, id)
		if err != nil {
			panic(err)
		}
		text[id] = s
		return insert{id, o}
	}

	// A shared starting point "ac", typed by replica 9.
	a := seq.New()
	base := []insert{
		local(a, 0, seq.ID{Replica: 9, Seq: 1}, "a"),
		local(a, 1, seq.ID{Replica: 9, Seq: 2}, "c"),
	}
	b := seq.New()
	for _, in := range base {
		if _, err := b.Integrate(in.id, in.o); err != nil {
			panic(err)
		}
	}

	// Concurrent edits between "a" and "c".
	fromA := []insert{
		local(a, 1, seq.ID{Replica: 1, Seq: 1}, "X"),
		local(a, 2, seq.ID{Replica: 1, Seq: 2}, "Y"),
	}
	fromB := []insert{
		local(b, 1, seq.ID{Replica: 2, Seq: 1}, "q"),
		local(b, 1, seq.ID{Replica: 2, Seq: 2}, "p"),
	}
	fmt.Println("before:", show(a), show(b))

	// Exchange, in opposite orders.
	for _, in := range fromB {
		if _, err := a.Integrate(in.id, in.o); err != nil {
			panic(err)
		}
	}
	for _, in := range fromA {
		if _, err := b.Integrate(in.id, in.o); err != nil {
			panic(err)
		}
	}
	fmt.Println("after: ", show(a), show(b))

	// A delete leaves a tombstone; indexes skip it.
	if _, _, err := a.SetVisible(seq.ID{Replica: 1, Seq: 1}, false); err != nil {
		panic(err)
	}
	first, _ := a.At(1)
	fmt.Println("deleted X:", show(a), "len", a.Len(), "slots", a.Slots(), "at 1:", text[first])
	// Output:
	// before: aXYc apqc
	// after:  aXYpqc aXYpqc
	// deleted X: aYpqc len 5 slots 6 at 1: Y
}
