package crdt

import (
	"slices"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/draft"
)

// scenario is a history: local steps on named replicas, then full exchange.
type scenario struct {
	n     int
	strat *Strategies
	// steps run before the exchange; they may sync replicas in between with
	// h.sync.
	steps func(h *hist)
}

type hist struct {
	t    *testing.T
	reps []*replica
	sent [][]*Change // per replica, its changes in order
}

func (h *hist) do(i int, f func(d *draft.Draft) error) {
	h.t.Helper()
	if c := h.reps[i].update(h.t, f); c != nil {
		h.sent[i] = append(h.sent[i], c)
	}
}

// sync delivers everything replica from has sent to replica to.
func (h *hist) sync(from, to int) {
	h.t.Helper()
	h.reps[to].apply(h.t, h.sent[from]...)
}

// tick advances replica i's physical clock, making its next write later.
func (h *hist) tick(i int, ms int) { h.reps[i].phys.Advance(time.Duration(ms) * time.Millisecond) }

// run plays sc twice, delivering the final exchange in forward and in
// reverse order (reverse makes later changes arrive first: they wait in the
// pending buffer), and checks that all replicas of both runs agree. It
// returns a replica of the forward run.
func (sc scenario) run(t *testing.T) *replica {
	t.Helper()
	var final []string
	var first *replica
	for _, reverse := range []bool{false, true} {
		h := &hist{t: t, sent: make([][]*Change, sc.n)}
		for i := range sc.n {
			h.reps = append(h.reps, newReplica(t, clockID(i), sc.strat))
		}
		sc.steps(h)
		for to := range sc.n {
			var batch []*Change
			for from := range sc.n {
				if from != to {
					batch = append(batch, h.sent[from]...)
				}
			}
			if reverse {
				slices.Reverse(batch)
			}
			h.reps[to].apply(t, batch...)
			if h.reps[to].PendingLen() != 0 {
				t.Fatalf("replica %d: %d changes still pending", to, h.reps[to].PendingLen())
			}
		}
		for _, r := range h.reps {
			final = append(final, dump(r.Doc))
		}
		if first == nil {
			first = h.reps[0]
		}
	}
	for i := range final {
		if final[i] != final[0] {
			t.Fatalf("replicas diverge:\n%s\n---\n%s", final[0], final[i])
		}
	}
	return first
}

func wantJSON(t *testing.T, r *replica, want string) {
	t.Helper()
	if got := r.json(t); got != want {
		t.Fatalf("state %s, want %s", got, want)
	}
}

func conflictValues(t *testing.T, r *replica, path string) []string {
	t.Helper()
	var out []string
	for _, c := range r.Conflicts(draft.MustParsePointer(path)) {
		s := mustJSON(t, c.Value)
		if c.Winner {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

// Rule 1: a key holds the concurrent values; a write supersedes exactly what
// its author had seen; Conflicts lists the concurrent values.
func TestRule1MultiValueRegister(t *testing.T) {
	r := scenario{n: 3, steps: func(h *hist) {
		h.do(0, set("/x", draft.Int(1)))
		h.sync(0, 1)
		h.tick(1, 5)
		h.do(1, set("/x", draft.Int(2))) // saw 1: supersedes it
		h.tick(2, 2)
		h.do(2, set("/x", draft.Int(3))) // saw nothing: concurrent with 1 and 2
	}}.run(t)
	wantJSON(t, r, `{"x":2}`)
	if got := conflictValues(t, r, "/x"); !slices.Equal(got, []string{"3", "2*"}) {
		t.Fatalf("conflicts %v", got)
	}
	// A later write by someone who saw both resolves the conflict.
	c, err := r.Update(set("/x", draft.Int(4)))
	if err != nil || c == nil {
		t.Fatal(err)
	}
	if len(c.Ops[0].Pred) != 2 {
		t.Fatalf("pred %v, want both concurrent values", c.Ops[0].Pred)
	}
	if got := r.Conflicts(draft.MustParsePointer("/x")); got != nil {
		t.Fatalf("conflicts after resolving: %v", got)
	}
}

// Rule 2: delete is observed-remove; a concurrent edit inside the deleted
// subtree keeps the path alive with the edit; a concurrent write to a
// deleted key survives.
func TestRule2ObservedRemove(t *testing.T) {
	r := scenario{n: 2, steps: func(h *hist) {
		h.do(0, set("/doc", obj("a", draft.Int(1))))
		h.do(0, set("/x", draft.Int(1)))
		h.sync(0, 1)
		h.do(0, del("/doc"))
		h.do(0, del("/x"))
		h.do(1, set("/doc/b", draft.Int(2)))
		h.do(1, set("/x", draft.Int(5)))
	}}.run(t)
	wantJSON(t, r, `{"doc":{"b":2},"x":5}`)
}

// Rule 2, lists: deleting an element concurrently with an edit inside it
// keeps the element with the edit.
func TestRule2ObservedRemoveListElement(t *testing.T) {
	r := scenario{n: 2, steps: func(h *hist) {
		h.do(0, set("/todos", draft.ListOf(obj("t", draft.String("a")), obj("t", draft.String("b")))))
		h.sync(0, 1)
		h.do(0, del("/todos/0"))
		h.do(1, set("/todos/0/done", draft.Bool(true)))
	}}.run(t)
	wantJSON(t, r, `{"todos":[{"done":true},{"t":"b"}]}`)
}

// Rule 3: containers are identified by path: concurrent creation merges;
// assigning a new container clears only what its author had seen.
func TestRule3ContainersByPath(t *testing.T) {
	r := scenario{n: 3, steps: func(h *hist) {
		h.do(0, set("/settings", obj("theme", draft.String("dark"))))
		h.do(1, set("/settings", obj("lang", draft.String("en"))))
		h.do(2, set("/old", obj("a", draft.Int(1))))
		h.sync(2, 0)
		h.do(0, set("/old", obj("b", draft.Int(2)))) // replaces what it saw
		h.do(2, set("/old/c", draft.Int(3)))         // concurrent: survives
	}}.run(t)
	wantJSON(t, r, `{"old":{"b":2,"c":3},"settings":{"lang":"en","theme":"dark"}}`)
	if got := r.Conflicts(draft.MustParsePointer("/settings")); got != nil {
		t.Fatalf("two map markers reported as a conflict: %v", got)
	}
}

func insertAt(path string, i int, v draft.Value) func(d *draft.Draft) error {
	return func(d *draft.Draft) error {
		return d.Insert(append(draft.MustParsePointer(path), draft.Index(i)), v)
	}
}

// Rule 4: lists. Concurrent inserts order the same everywhere; forward and
// backward runs do not interleave; a replace targets the element its author
// saw even if a concurrent insert shifted indices; concurrent moves leave
// one copy.
func TestRule4Lists(t *testing.T) {
	t.Run("runs", func(t *testing.T) {
		r := scenario{n: 2, steps: func(h *hist) {
			h.do(0, set("/l", draft.ListOf()))
			h.sync(0, 1)
			for i, ch := range []string{"a", "b", "c"} { // forward run
				h.do(0, insertAt("/l", i, draft.String(ch)))
			}
			for _, ch := range []string{"z", "y", "x"} { // backward run: each at 0
				h.do(1, insertAt("/l", 0, draft.String(ch)))
			}
		}}.run(t)
		got := r.json(t)
		if got != `{"l":["a","b","c","x","y","z"]}` && got != `{"l":["x","y","z","a","b","c"]}` {
			t.Fatalf("runs interleaved: %s", got)
		}
	})
	t.Run("replace by identity", func(t *testing.T) {
		r := scenario{n: 2, steps: func(h *hist) {
			h.do(0, set("/items", draft.ListOf(draft.String("a"), draft.String("b"), draft.String("c"))))
			h.sync(0, 1)
			h.do(0, insertAt("/items", 0, draft.String("new")))
			h.do(1, set("/items/1", draft.String("B")))
		}}.run(t)
		wantJSON(t, r, `{"items":["new","a","B","c"]}`)
	})
	t.Run("concurrent moves", func(t *testing.T) {
		r := scenario{n: 2, steps: func(h *hist) {
			h.do(0, set("/l", draft.ListOf(draft.String("a"), draft.String("b"), draft.String("c"), draft.String("d"))))
			h.sync(0, 1)
			h.do(0, func(d *draft.Draft) error { return d.Move(draft.MustParsePointer("/l"), 0, 3) })
			h.tick(1, 3)
			h.do(1, func(d *draft.Draft) error { return d.Move(draft.MustParsePointer("/l"), 0, 1) })
		}}.run(t)
		wantJSON(t, r, `{"l":["b","a","c","d"]}`) // the later move wins; one copy
	})
}

// Rule 5: counters: concurrent increments all count; an increment's cost
// does not grow with history (per-replica totals).
func TestRule5Counters(t *testing.T) {
	st := NewStrategies().MustSet("/stock/*", Count())
	r := scenario{n: 3, strat: st, steps: func(h *hist) {
		h.do(0, set("/stock", obj("apples", draft.Int(10))))
		h.sync(0, 1)
		h.sync(0, 2)
		for range 100 {
			h.do(1, func(d *draft.Draft) error {
				return d.Increment(draft.MustParsePointer("/stock/apples"), draft.Int(1))
			})
		}
		h.do(2, func(d *draft.Draft) error {
			return d.Increment(draft.MustParsePointer("/stock/apples"), draft.Int(-3))
		})
		h.do(0, set("/stock/apples", draft.Int(20))) // a replace becomes +10
	}}.run(t)
	wantJSON(t, r, `{"stock":{"apples":117}}`)
	s := r.root.keys["stock"].child.keys["apples"]
	if len(s.ctr.contribs) != 3 || len(s.entries) != 0 {
		t.Fatalf("counter state grew: %d contributions, %d entries", len(s.ctr.contribs), len(s.entries))
	}
}

// Rule 5, delete: removing a counter removes what its author had seen;
// concurrent increments survive.
func TestRule5CounterDelete(t *testing.T) {
	st := NewStrategies().MustSet("/c", Count())
	r := scenario{n: 2, strat: st, steps: func(h *hist) {
		h.do(0, set("/c", draft.Int(5)))
		h.sync(0, 1)
		h.do(0, del("/c"))
		h.do(1, func(d *draft.Draft) error { return d.Increment(draft.MustParsePointer("/c"), draft.Int(2)) })
	}}.run(t)
	wantJSON(t, r, `{"c":2}`)
}

// Rule 6: a map and a scalar written concurrently at one key resolve by the
// strategy (LWW here); the loser is in Conflicts.
func TestRule6TypeClash(t *testing.T) {
	r := scenario{n: 2, steps: func(h *hist) {
		h.do(0, set("/x", obj("a", draft.Int(1))))
		h.tick(1, 5)
		h.do(1, set("/x", draft.Int(5)))
	}}.run(t)
	wantJSON(t, r, `{"x":5}`)
	if got := conflictValues(t, r, "/x"); !slices.Equal(got, []string{`{"a":1}`, "5*"}) {
		t.Fatalf("conflicts %v", got)
	}
	r2 := scenario{n: 2, steps: func(h *hist) {
		h.tick(0, 5)
		h.do(0, set("/x", obj("a", draft.Int(1))))
		h.do(1, set("/x", draft.Int(5)))
	}}.run(t)
	wantJSON(t, r2, `{"x":{"a":1}}`)
	if got := conflictValues(t, r2, "/x"); !slices.Equal(got, []string{"5", `{"a":1}*`}) {
		t.Fatalf("conflicts %v", got)
	}
}

// Rule 5 in a list: a list of counters (pattern /scores/*) sums concurrent
// increments per element; the inserted number is the first increment.
func TestRule5CounterList(t *testing.T) {
	st := NewStrategies().MustSet("/scores/*", Count())
	inc := func(i int, d int64) func(*draft.Draft) error {
		return func(x *draft.Draft) error { return x.Increment(draft.P("scores", i), draft.Int(d)) }
	}
	r := scenario{n: 2, strat: st, steps: func(h *hist) {
		h.do(0, set("/scores", draft.ListOf(draft.Int(5), draft.Int(0))))
		h.sync(0, 1)
		h.do(0, inc(0, 2))
		h.do(1, inc(0, 3))
		h.do(1, inc(1, 1))
		h.do(0, insertAt("/scores", 0, draft.Int(100)))
	}}.run(t)
	wantJSON(t, r, `{"scores":[100,10,1]}`)
}
