package draft

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// The oracle is a plain Go tree (map[string]any, []any, int64, float64,
// string, bool, nil) that every operation deep-copies before changing:
// obviously correct, obviously slow.

func deepCopy(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = deepCopy(v)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, v := range x {
			s[i] = deepCopy(v)
		}
		return s
	}
	return x
}

// oracleParent walks to the container holding p's last segment.
func oracleAt(root any, p Path) (any, bool) {
	cur := root
	for _, s := range p {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[s.Token()]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, ok := s.listIndex()
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// oracleUpdate replaces the value at p (p non-empty) via fn on its parent.
func oracleUpdate(root any, p Path, fn func(parent any) (any, bool)) (any, bool) {
	if len(p) == 0 {
		return fn(root)
	}
	switch c := root.(type) {
	case map[string]any:
		v, ok := c[p[0].Token()]
		if !ok {
			return root, false
		}
		nv, ok := oracleUpdate(v, p[1:], fn)
		if !ok {
			return root, false
		}
		c[p[0].Token()] = nv
		return c, true
	case []any:
		i, ok := p[0].listIndex()
		if !ok || i >= len(c) {
			return root, false
		}
		nv, ok := oracleUpdate(c[i], p[1:], fn)
		if !ok {
			return root, false
		}
		c[i] = nv
		return c, true
	}
	return root, false
}

type propOp struct {
	kind     string
	path     Path // target (set/delete/increment) or list (insert/remove/move)
	i, n, to int
	val      Value
	from     Path // for "copyread": read here, set at path
}

func (o propOp) String() string {
	return fmt.Sprintf("%s %s i=%d n=%d to=%d val=%v from=%s", o.kind, o.path.String(), o.i, o.n, o.to, o.val, o.from.String())
}

// applyOracle runs op on a deep copy of st; ok=false means the op must fail.
func applyOracle(st any, op propOp) (any, bool) {
	st = deepCopy(st)
	switch op.kind {
	case "set":
		if len(op.path) == 0 {
			return op.val.ToGo(), true
		}
		last := op.path[len(op.path)-1]
		return oracleUpdate(st, op.path[:len(op.path)-1], func(c any) (any, bool) {
			switch c := c.(type) {
			case map[string]any:
				c[last.Token()] = op.val.ToGo()
				return c, true
			case []any:
				i, ok := last.listIndex()
				if !ok || i >= len(c) {
					return c, false
				}
				c[i] = op.val.ToGo()
				return c, true
			}
			return c, false
		})
	case "delete":
		if len(op.path) == 0 {
			return st, false
		}
		last := op.path[len(op.path)-1]
		return oracleUpdate(st, op.path[:len(op.path)-1], func(c any) (any, bool) {
			switch c := c.(type) {
			case map[string]any:
				if _, ok := c[last.Token()]; !ok {
					return c, false
				}
				delete(c, last.Token())
				return c, true
			case []any:
				i, ok := last.listIndex()
				if !ok || i >= len(c) {
					return c, false
				}
				return slices.Delete(c, i, i+1), true
			}
			return c, false
		})
	case "increment":
		return oracleUpdate(st, op.path, func(c any) (any, bool) {
			d := op.val.ToGo()
			switch x := c.(type) {
			case int64:
				if di, ok := d.(int64); ok {
					return x + di, true
				}
				return float64(x) + d.(float64), true
			case float64:
				if di, ok := d.(int64); ok {
					return x + float64(di), true
				}
				return x + d.(float64), true
			}
			return c, false
		})
	case "insert":
		return oracleUpdate(st, op.path, func(c any) (any, bool) {
			l, ok := c.([]any)
			if !ok || op.i < 0 || op.i > len(l) {
				return c, false
			}
			return slices.Insert(l, op.i, op.val.ToGo()), true
		})
	case "remove":
		return oracleUpdate(st, op.path, func(c any) (any, bool) {
			l, ok := c.([]any)
			if !ok || op.i < 0 || op.n < 0 || op.i+op.n > len(l) {
				return c, false
			}
			return slices.Delete(l, op.i, op.i+op.n), true
		})
	case "move":
		return oracleUpdate(st, op.path, func(c any) (any, bool) {
			l, ok := c.([]any)
			if !ok || op.i < 0 || op.to < 0 || op.i >= len(l) || op.to >= len(l) {
				return c, false
			}
			x := l[op.i]
			l = slices.Delete(l, op.i, op.i+1)
			return slices.Insert(l, op.to, x), true
		})
	case "copyread":
		v, ok := oracleAt(st, op.from)
		if !ok {
			return st, false
		}
		return applyOracle(st, propOp{kind: "set", path: op.path, val: mustFromGo(v)})
	}
	panic("unknown op " + op.kind)
}

func mustFromGo(x any) Value {
	v, err := FromGo(x)
	if err != nil {
		panic(err)
	}
	return v
}

func runDraftOp(d *Draft, op propOp) error {
	switch op.kind {
	case "set":
		return d.Set(op.path, op.val)
	case "delete":
		return d.Delete(op.path)
	case "increment":
		return d.Increment(op.path, op.val)
	case "insert":
		return d.ListAt(op.path).Insert(op.i, op.val)
	case "remove":
		return d.ListAt(op.path).RemoveRange(op.i, op.n)
	case "move":
		return d.ListAt(op.path).Move(op.i, op.to)
	case "copyread":
		v, err := d.Get(op.from)
		if err != nil {
			return err
		}
		return d.Set(op.path, v)
	}
	panic("unknown op")
}

type gen struct {
	r *rand.Rand
	// writeBias (0-10) is how often, in tenths, an op is forced to be a
	// non-list write, so that epochs grow long enough to use the log index.
	writeBias int
}

func (g gen) scalar() Value {
	switch g.r.IntN(6) {
	case 0:
		return Null()
	case 1:
		return Bool(g.r.IntN(2) == 0)
	case 2, 3:
		return Int(int64(g.r.IntN(10)))
	case 4:
		return Float(float64(g.r.IntN(8)) + 0.5)
	}
	return String(string(rune('a' + g.r.IntN(5))))
}

func (g gen) value(depth int) Value {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return g.scalar()
	}
	n := g.r.IntN(5)
	if g.r.IntN(2) == 0 {
		m := map[string]Value{}
		for range n {
			m[g.key()] = g.value(depth - 1)
		}
		return MapOf(m)
	}
	items := make([]Value, n)
	for i := range items {
		items[i] = g.value(depth - 1)
	}
	return ListOf(items...)
}

func (g gen) key() string { return string(rune('a' + g.r.IntN(6))) }

// path picks a random existing path in v (sometimes with a random extra
// segment that may not exist).
func (g gen) path(v any) Path {
	var p Path
	for {
		if g.r.IntN(3) == 0 {
			break
		}
		switch c := v.(type) {
		case map[string]any:
			if len(c) == 0 {
				return p
			}
			keys := make([]string, 0, len(c))
			for k := range c {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			k := keys[g.r.IntN(len(keys))]
			p = append(p, Key(k))
			v = c[k]
			continue
		case []any:
			if len(c) == 0 {
				return p
			}
			i := g.r.IntN(len(c))
			p = append(p, Index(i))
			v = c[i]
			continue
		}
		break
	}
	return p
}

func (g gen) op(st any) propOp {
	p := g.path(st)
	target, _ := oracleAt(st, p)
	extend := func() Path {
		switch c := target.(type) {
		case map[string]any:
			return p.append(Key(g.key()))
		case []any:
			return p.append(Index(g.r.IntN(len(c) + 2)))
		}
		return p.append(Key(g.key()))
	}
	n := 1
	if l, ok := target.([]any); ok {
		n = len(l) + 1
	}
	choice := g.r.IntN(9)
	if g.r.IntN(10) < g.writeBias {
		choice = []int{0, 1, 2, 3, 7, 8}[g.r.IntN(6)]
	}
	switch choice {
	case 0, 1:
		return propOp{kind: "set", path: extend(), val: g.value(2)}
	case 2:
		if g.r.IntN(4) == 0 {
			return propOp{kind: "delete", path: extend()}
		}
		return propOp{kind: "delete", path: p}
	case 3:
		d := Int(int64(g.r.IntN(5) - 2))
		if g.r.IntN(4) == 0 {
			d = Float(0.25)
		}
		return propOp{kind: "increment", path: p, val: d}
	case 4:
		return propOp{kind: "insert", path: p, i: g.r.IntN(n+1) - g.r.IntN(2), val: g.value(2)}
	case 5:
		return propOp{kind: "remove", path: p, i: g.r.IntN(n), n: g.r.IntN(3)}
	case 6:
		return propOp{kind: "move", path: p, i: g.r.IntN(n), to: g.r.IntN(n)}
	case 7:
		return propOp{kind: "copyread", path: extend(), from: g.path(st)}
	}
	if g.r.IntN(20) == 0 {
		return propOp{kind: "set", path: Path{}, val: g.value(3)}
	}
	return propOp{kind: "set", path: p, val: g.value(2)}
}

func propIterations(def int) int {
	if s := os.Getenv("DRAFT_PROP_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return def
}

// TestProduceAgainstOracle runs random recipes on random trees and checks
// the produced state against the deep-copy oracle, patches and inverse
// patches by Apply (also after a JSON round trip), the Immer expansion,
// and that untouched subtrees are shared. DRAFT_PROP_N raises the count.
func TestProduceAgainstOracle(t *testing.T) { runOracle(t, propIterations(400), 8, 0) }

// TestProduceLongRecipesAgainstOracle runs fewer, longer recipes, so the
// change log crosses its chunk boundaries and its index is used.
func TestProduceLongRecipesAgainstOracle(t *testing.T) {
	runOracle(t, max(propIterations(400)/20, 5), 400, 0)
	runOracle(t, max(propIterations(400)/20, 5), 400, 9)
}

func runOracle(t *testing.T, n, maxOps, writeBias int) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	g := gen{r: r, writeBias: writeBias}
	for it := range n {
		base := g.value(4)
		if r.IntN(2) == 0 {
			m := map[string]Value{}
			for range 4 {
				m[g.key()] = g.value(3)
			}
			if r.IntN(4) == 0 { // containers wider than one B+tree node
				items := make([]Value, 33+r.IntN(80))
				wide := map[string]Value{}
				for i := range items {
					items[i] = g.value(1)
					wide[fmt.Sprintf("w%03d", i)] = g.value(1)
				}
				m["big"], m["wide"] = ListOf(items...), MapOf(wide)
			}
			base = MapOf(m)
		}
		baseJSON := base.String()
		st := base.ToGo()
		var ops []propOp
		var touched []Path
		nops := 1 + r.IntN(maxOps)
		scanLimit := smallEpoch
		if it%2 == 1 {
			scanLimit = 0 // always use the log's path index
		}
		next, fwd, inv, err := produce(base, func(d *Draft) error {
			for k := range nops {
				if it%4 == 3 && k == nops/2 {
					d.s.log.collided = true // as after a hash collision: scan from here
				}
				op := g.op(st)
				ops = append(ops, op)
				tp := op.path
				if op.kind == "delete" && len(op.path) > 0 {
					if parent, _ := oracleAt(st, op.path[:len(op.path)-1]); parent != nil {
						if _, isList := parent.([]any); isList {
							tp = op.path[:len(op.path)-1] // a list delete shifts its siblings
						}
					}
				}
				want, ok := applyOracle(st, op)
				err := runDraftOp(d, op)
				if (err == nil) != ok {
					return fmt.Errorf("op %v: draft err=%v, oracle ok=%v", op, err, ok)
				}
				if err == nil {
					st = want
					touched = append(touched, tp)
				}
				if r.IntN(5) == 0 {
					if cur := d.Current(); !reflect.DeepEqual(cur.ToGo(), st) {
						return fmt.Errorf("after %v: current %v, oracle %v", op, cur, st)
					}
				}
			}
			return nil
		}, scanLimit)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d iteration %d: %s\nbase %s\nops %v\npatches %s\ninverse %s", seed, it,
				fmt.Sprintf(format, args...), baseJSON, ops, jsonOf(fwd), jsonOf(inv))
		}
		if err != nil {
			fail("%v", err)
		}
		if base.String() != baseJSON {
			fail("base modified")
		}
		if !reflect.DeepEqual(next.ToGo(), st) {
			fail("next %v != oracle %v", next, st)
		}
		if len(fwd) == 0 && !next.Same(base) {
			fail("no patches but next is not base")
		}
		if next.Equal(base) && (len(fwd) > 0 || !next.Same(base)) {
			fail("unchanged state but patches or a new root")
		}
		got, err := Apply(base, fwd)
		if err != nil || !got.Equal(next) {
			fail("apply patches: %v %v", err, got)
		}
		back, err := Apply(next, inv)
		if err != nil || !back.Equal(base) {
			fail("apply inverse: %v %v", err, back)
		}
		var decoded []Patch
		if err := json.Unmarshal([]byte(jsonOf(fwd)), &decoded); err != nil {
			fail("json: %v", err)
		}
		if got, err := Apply(base, decoded); err != nil || !got.Equal(next) {
			fail("apply json patches: %v %v", err, got)
		}
		imm, immInv, err := ImmerPatches(base, fwd)
		if err != nil {
			fail("immer: %v", err)
		}
		if got, err := Apply(base, imm); err != nil || !got.Equal(next) {
			fail("apply immer patches: %v %v (%s)", err, got, jsonOf(imm))
		}
		if got, err := Apply(next, immInv); err != nil || !got.Equal(base) {
			fail("apply immer inverse: %v %v (%s)", err, got, jsonOf(immInv))
		}
		checkShared(t, base, next, Path{}, touched, func(p Path) { fail("untouched %s not shared", p.String()) })
		// The same operations through ProduceForward: the same state and
		// (unless a collision was simulated, which may make the log less
		// minimal) the same patches.
		next2, fwd2, err := ProduceForward(base, func(d *Draft) error {
			for _, op := range ops {
				_ = runDraftOp(d, op)
			}
			return nil
		})
		if err != nil || !next2.Equal(next) || next2.Same(base) != next.Same(base) {
			fail("ProduceForward: %v, next %v", err, next2)
		}
		if it%4 != 3 && jsonOf(fwd2) != jsonOf(fwd) {
			fail("ProduceForward patches %s", jsonOf(fwd2))
		}
		if got, err := Apply(base, fwd2); err != nil || !got.Equal(next) {
			fail("apply ProduceForward patches: %v %v", err, got)
		}
	}
}

// checkShared walks base and requires every container that no operation
// touched (nothing at, above or under it was changed) to be Same in next.
func checkShared(t *testing.T, base, next Value, at Path, touched []Path, fail func(Path)) {
	t.Helper()
	for _, tp := range touched {
		if at.HasPrefix(tp) {
			return // at or under a touched path
		}
	}
	ancestor := false
	for _, tp := range touched {
		if tp.HasPrefix(at) {
			ancestor = true
		}
	}
	if !ancestor {
		if nv, ok := next.At(at); base.isContainer() && (!ok || !nv.Same(base)) {
			fail(at)
		}
		return
	}
	switch base.Kind() {
	case MapKind:
		for k, v := range base.Range() {
			checkShared(t, v, next, at.append(Key(k)), touched, fail)
		}
	case ListKind:
		for i, v := range base.Items() {
			checkShared(t, v, next, at.append(Index(i)), touched, fail)
		}
	}
}

func jsonOf(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
