package crdt

import (
	"testing"

	"github.com/syncmesh/syncmesh/draft"
)

func TestBasicLocalAndRemote(t *testing.T) {
	a := newReplica(t, 1, nil)
	b := newReplica(t, 2, nil)
	c1 := a.update(t, set("/x", draft.Int(1)))
	c2 := a.update(t, set("/settings", obj("theme", draft.String("dark"))))
	checkConsistent(t, a.Doc)
	if got := a.json(t); got != `{"settings":{"theme":"dark"},"x":1}` {
		t.Fatalf("a = %s", got)
	}
	res := b.apply(t, c2, c1)
	if res.Applied != 2 {
		t.Fatalf("applied %d", res.Applied)
	}
	if a.json(t) != b.json(t) {
		t.Fatalf("a %s b %s", a.json(t), b.json(t))
	}
	res = b.apply(t, c1, c2)
	if res.Duplicates != 2 {
		t.Fatalf("dups %+v", res)
	}
	if dump(a.Doc) != dump(b.Doc) {
		t.Fatalf("dumps differ:\n%s\n%s", dump(a.Doc), dump(b.Doc))
	}
}

func TestProduceReturnsPatches(t *testing.T) {
	a := newReplica(t, 1, nil)
	c, ps, err := a.Produce(set("/x", draft.Int(1)))
	if err != nil || c == nil || len(ps) != 1 || ps[0].Op != draft.OpAdd {
		t.Fatalf("%v %v %v", c, ps, err)
	}
	c, ps, err = a.Produce(func(d *draft.Draft) error { return nil })
	if c != nil || ps != nil || err != nil {
		t.Fatal("a no-op recipe made a change")
	}
}
