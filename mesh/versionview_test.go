package mesh

import (
	"testing"

	"github.com/syncmesh/syncmesh/clock"
)

// viewDoc is a fakeDoc that lends its version vector (VersionViewer) and
// counts the loans.
type viewDoc struct {
	*fakeDoc
	views int
}

func (d *viewDoc) VersionView() VersionVector {
	d.views++
	return d.vv
}

// TestCoreDigestWithLentVersion: a core over a VersionViewer answers a
// digest as one over a plain Document does (the same messages), borrows
// the vector to do it, and replies with a copy: applying more changes
// afterwards does not change the reply already sent.
func TestCoreDigestWithLentVersion(t *testing.T) {
	answer := func(lend bool) (Output, *fakeDoc, *viewDoc) {
		src := newFakeDoc(7, func() int64 { return 0 })
		doc := newFakeDoc(1, func() int64 { return 0 })
		var d Document = doc
		vd := &viewDoc{fakeDoc: doc}
		if lend {
			d = vd
		}
		c, err := NewCore(CoreConfig{Name: "me"}, d)
		if err != nil {
			t.Fatal(err)
		}
		c.PeerUp("peer")
		for i := range 3 {
			ch := src.update(0, 0, "k", string(rune('a'+i)))
			if _, err := c.Receive(1000, Encode(&ChangeMsg{Change: ch})); err != nil {
				t.Fatal(err)
			}
		}
		// The peer has replica 9's change 1, which we lack, and none of 7's.
		out, err := c.Receive(2000, Encode(&DigestMsg{From: "peer", Version: VersionVector{9: 1}, Reply: true}))
		if err != nil {
			t.Fatal(err)
		}
		return out, doc, vd
	}
	plain, _, _ := answer(false)
	lent, doc, vd := answer(true)
	if vd.views == 0 {
		t.Fatal("the core did not borrow the version vector")
	}
	if len(plain.Sends) != len(lent.Sends) {
		t.Fatalf("%d sends with a lent vector, %d without", len(lent.Sends), len(plain.Sends))
	}
	for i := range plain.Sends {
		if string(plain.Sends[i].Msg) != string(lent.Sends[i].Msg) {
			t.Fatalf("send %d differs: %x vs %x", i, lent.Sends[i].Msg, plain.Sends[i].Msg)
		}
	}
	var reply *DigestMsg
	for _, s := range lent.Sends {
		if m, ok := s.Message.(*DigestMsg); ok {
			reply = m
		}
	}
	if reply == nil {
		t.Fatal("no digest in reply to a peer holding what we lack")
	}
	doc.vv[clock.ReplicaID(7)] = 99
	if reply.Version[7] == 99 {
		t.Fatal("the reply shares the document's vector")
	}
}
