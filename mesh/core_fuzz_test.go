package mesh

import (
	"errors"
	"testing"
)

// FuzzCoreReceive feeds arbitrary bytes to a Core over the fake document:
// it must never panic, and whatever it rejects must be counted.
func FuzzCoreReceive(f *testing.F) {
	for _, tc := range wireSamples() {
		f.Add(Encode(tc.msg))
	}
	src := newFakeDoc(9, func() int64 { return 1000 })
	f.Add(Encode(&ChangeMsg{Change: src.update(0, 0, "k", "v")}))
	f.Add(Encode(&ChangesMsg{From: "x", Changes: []Change{src.update(0, 0, "k", "w")}, More: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc := newFakeDoc(1, func() int64 { return 1000 })
		c, err := NewCore(CoreConfig{Name: "me", Seed: 1}, doc)
		if err != nil {
			t.Fatal(err)
		}
		c.PeerUp("x")
		before := c.Stats()
		_, err = c.Receive(1000, b)
		after := c.Stats()
		var de *DecodeError
		if errors.As(err, &de) && after.Rejected[de.Reason] != before.Rejected[de.Reason]+1 {
			t.Fatalf("rejection %v not counted", err)
		}
		c.Tick(2000)
	})
}

// FuzzCheckMeta checks that peer metadata of any shape is refused or
// accepted without panicking, and only ours is accepted.
func FuzzCheckMeta(f *testing.F) {
	mine := nodeMeta([]byte("rules"))
	f.Add(mine)
	f.Add([]byte("sm"))
	f.Add(nodeMeta([]byte("other")))
	f.Fuzz(func(t *testing.T, meta []byte) {
		if err := checkMeta(mine, meta); err == nil && string(meta) != string(mine) {
			t.Fatalf("accepted foreign metadata %x", meta)
		}
	})
}
