package seq

import "testing"

// Handles and ids map both ways: IDOf undoes Handle for every slot, and
// refuses handles that name no slot (0, the head's 1, past the end).
func TestHandleIDOf(t *testing.T) {
	l := New()
	var ids []ID
	for i := range 600 {
		id := ID{Replica: 7, Seq: uint64(i + 1)}
		if _, err := l.InsertAt(i/3, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		h := l.Handle(id)
		if got, ok := l.IDOf(h); !ok || got != id {
			t.Fatalf("IDOf(Handle(%v)) = %v, %v", id, got, ok)
		}
	}
	for _, h := range []Handle{-1, 0, 1, Handle(len(ids) + 2)} {
		if id, ok := l.IDOf(h); ok {
			t.Fatalf("IDOf(%d) = %v, want none", h, id)
		}
	}
}
