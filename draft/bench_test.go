package draft

import (
	"strconv"
	"testing"
)

// The W1-W4 benchmarks mirror ../shared/bench/immer/bench.mjs: same state
// shapes, same writes, state chained from one produce to the next.

const (
	benchKeys  = 1_000   // keys in W1's counters map / users in W2
	benchBatch = 100     // patches per Apply call in W3
	benchW4    = 100_000 // keys set in W4's single produce
)

func w1Base() Value {
	m := make(map[string]Value, benchKeys)
	for k := range benchKeys {
		m["k"+strconv.Itoa(k)] = Int(-1)
	}
	return MapOf(map[string]Value{"counters": MapOf(m)})
}

func w1Step(state Value, i int) (Value, []Patch) { return w1StepWith(state, i, false) }

// w1StepWith is one W1 produce, through ProduceForward if forward is set.
// The recipe is passed straight to the produce call, so it stays on the
// stack.
func w1StepWith(state Value, i int, forward bool) (next Value, p []Patch) {
	recipe := func(d *Draft) error {
		return d.Map("counters").Set("k"+strconv.Itoa(i%benchKeys), Int(int64(i)))
	}
	var err error
	if forward {
		next, p, err = ProduceForward(state, recipe)
	} else {
		next, p, _, err = Produce(state, recipe)
	}
	if err != nil || len(p) != 1 {
		panic("W1 produce failed")
	}
	return next, p
}

// BenchmarkW1SetField: one op = one produce (with patches and inverse) that
// sets one field of a 1,000-key map.
func BenchmarkW1SetField(b *testing.B) { benchW1(b, false) }

// BenchmarkW1Forward is W1 through ProduceForward (no inverse patches).
func BenchmarkW1Forward(b *testing.B) { benchW1(b, true) }

func benchW1(b *testing.B, forward bool) {
	state := w1Base()
	patches := make([]Patch, 0, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var p []Patch
		state, p = w1StepWith(state, i, forward)
		if len(patches) == cap(patches) {
			patches = patches[:0]
		}
		patches = append(patches, p...)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "produces/s")
}

// BenchmarkW2NestedUpdatePush: one op = one produce that sets a user's age
// and appends to the user's tags, over 1,000 users.
func BenchmarkW2NestedUpdatePush(b *testing.B) { benchW2(b, false) }

// BenchmarkW2Forward is W2 through ProduceForward (no inverse patches).
func BenchmarkW2Forward(b *testing.B) { benchW2(b, true) }

func benchW2(b *testing.B, forward bool) {
	mode := w2Plain
	if forward {
		mode = w2Forward
	}
	benchW2With(b, mode)
}

// W2's entry points: Produce, ProduceForward, ProduceForwardOwned.
const (
	w2Plain = iota
	w2Forward
	w2Owned
)

// benchW2With runs W2 through the entry point mode names. The recipe is
// passed straight to the produce call, so it stays on the stack.
func benchW2With(b *testing.B, mode int) {
	var o Owner
	users := make(map[string]Value, benchKeys)
	for u := range benchKeys {
		users["u"+strconv.Itoa(u)] = MapOf(map[string]Value{
			"name": String("user" + strconv.Itoa(u)),
			"age":  Int(20),
			"tags": ListOf(String("a"), String("b"), String("c"), String("d"), String("e")),
		})
	}
	state := MapOf(map[string]Value{"users": MapOf(users)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := "u" + strconv.Itoa(i%benchKeys)
		recipe := func(d *Draft) error {
			user := d.Map("users").Map(id)
			if err := user.Set("age", Int(int64(21+i))); err != nil {
				return err
			}
			return user.List("tags").Append(String("t" + strconv.Itoa(i)))
		}
		var next Value
		var p []Patch
		var err error
		switch mode {
		case w2Forward:
			next, p, err = ProduceForward(state, recipe)
		case w2Owned:
			next, p, err = ProduceForwardOwned(state, &o, recipe)
		default:
			next, p, _, err = Produce(state, recipe)
		}
		if err != nil || len(p) != 2 {
			b.Fatalf("W2 produce: %v %d", err, len(p))
		}
		state = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "produces/s")
}

// BenchmarkW3ApplyBatches: W1's 100,000 patches applied in batches of 100;
// one op = one Apply call of 100 patches (cycling through the 1,000
// batches, restarting from W1's base state).
func BenchmarkW3ApplyBatches(b *testing.B) {
	benchW3With(b, func(state Value, patches []Patch) (Value, error) { return Apply(state, patches) })
}

// benchW3With runs W3 through apply.
func benchW3With(b *testing.B, apply func(Value, []Patch) (Value, error)) {
	base := w1Base()
	state := base
	all := make([]Patch, 0, 100_000)
	for i := range 100_000 {
		var p []Patch
		state, p = w1Step(state, i)
		all = append(all, p...)
	}
	final := state
	b.ReportAllocs()
	b.ResetTimer()
	cur := base
	for i := range b.N {
		j := (i % (len(all) / benchBatch)) * benchBatch
		if j == 0 {
			cur = base
		}
		var err error
		if cur, err = apply(cur, all[j:j+benchBatch]); err != nil {
			b.Fatal(err)
		}
		if j+benchBatch == len(all) && !cur.Equal(final) {
			b.Fatal("W3 result differs from W1 final state")
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "patches/s")
}

// BenchmarkW4OneProduce100kKeys: one op = one produce that sets 100,000
// distinct keys on an empty map (100,000 patches).
func BenchmarkW4OneProduce100kKeys(b *testing.B) {
	keys := make([]string, benchW4)
	b.ReportAllocs()
	for i := range b.N {
		next, p, _, err := Produce(EmptyMap(), func(d *Draft) error {
			root := d.Root()
			for k := range benchW4 {
				keys[k] = "key" + strconv.Itoa(k)
				if err := root.Set(keys[k], Int(int64(k))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || next.Len() != benchW4 || len(p) != benchW4 {
			b.Fatalf("W4: %v %d %d", err, next.Len(), len(p))
		}
		_ = i
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/produce")
}

// BenchmarkWidth: a one-key produce on a map of 10 keys versus 1,000,000
// keys; the cost must not grow with the width.
func BenchmarkWidth(b *testing.B) {
	for _, n := range []int{10, 1_000, 1_000_000} {
		m := make(map[string]Value, n)
		for k := range n {
			m["k"+strconv.Itoa(k)] = Int(-1)
		}
		state := MapOf(m)
		seq := 0 // values never repeat, also across b.Run's rounds and -count
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				seq++
				next, _, _, err := Produce(state, func(d *Draft) error {
					return d.Root().Set("k"+strconv.Itoa(i%n), Int(int64(seq)))
				})
				if err != nil {
					b.Fatal(err)
				}
				state = next
			}
		})
	}
}

// BenchmarkListInsertMiddle: one produce inserting one item in the middle
// of a list of 10 or 1,000,000 items.
func BenchmarkListInsertMiddle(b *testing.B) {
	for _, n := range []int{10, 1_000_000} {
		items := make([]Value, n)
		for i := range items {
			items[i] = Int(int64(i))
		}
		state := MapOf(map[string]Value{"l": ListOf(items...)})
		b.Run("items="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				next, _, _, err := Produce(state, func(d *Draft) error {
					l := d.List("l")
					return l.Insert(l.Len()/2, Int(int64(i)))
				})
				if err != nil {
					b.Fatal(err)
				}
				if i%2 == 1 { // keep the length steady
					next, _, _, _ = Produce(next, func(d *Draft) error { return d.List("l").Delete(0) })
				}
				state = next
			}
		})
	}
}
