package mesh

import "testing"

// TestOutputPoolSameRun: cores sharing an OutputPool, their driver giving
// every Output back, run exactly as cores without one (the same trace of
// deliveries and the same final document), and the pool is used.
func TestOutputPoolSameRun(t *testing.T) {
	t1, d1 := lossyRun(t, 7, 0.2, CoreConfig{})
	pool := new(OutputPool)
	t2, d2 := lossyRun(t, 7, 0.2, CoreConfig{Outputs: pool})
	if t1 != t2 || d1 != d2 {
		t.Fatalf("with a pool the run differs: trace %x vs %x", t1, t2)
	}
	if len(pool.free) == 0 {
		t.Fatal("nothing came back to the pool")
	}
}

// TestOutputPoolPut: Put keeps the arrays, cleared, and get hands them out
// empty; a nil pool and empty Outputs are ignored.
func TestOutputPoolPut(t *testing.T) {
	var nilPool *OutputPool
	nilPool.Put(Output{Sends: make([]Send, 1)})
	if out := nilPool.get(); out.Sends != nil {
		t.Fatal("a nil pool handed out arrays")
	}
	p := new(OutputPool)
	p.Put(Output{})
	if len(p.free) != 0 {
		t.Fatal("an empty Output was kept")
	}
	sends := []Send{{To: "a", Msg: []byte("x")}, {To: "b"}}
	p.Put(Output{Sends: sends})
	if sends[0].To != "" || sends[0].Msg != nil {
		t.Fatal("Put did not clear the sends")
	}
	out := p.get()
	if len(out.Sends) != 0 || cap(out.Sends) != 2 || len(out.Broadcasts) != 0 {
		t.Fatalf("got %d sends (cap %d), %d broadcasts", len(out.Sends), cap(out.Sends), len(out.Broadcasts))
	}
	if len(p.free) != 0 {
		t.Fatal("get left the Output in the pool")
	}
}
