package crdt

import (
	"math/rand/v2"

	"github.com/syncmesh/syncmesh/draft"
)

// CheckMergeLaws tests a Custom merge function on generated values and
// returns a *LawError (errors.Is ErrLaw) with a counterexample if it is not
// deterministic (same inputs, same output), idempotent (f(a,a) = a),
// commutative (f(a,b) = f(b,a)) or associative (f(f(a,b),c) =
// f(a,f(b,c))); nil if no counterexample was found in trials rounds.
// gen draws values (nil: small ints, floats, strings, bools and null); the
// PCG seed makes a failure reproducible. Equality is draft.Value.Equal.
func CheckMergeLaws(f MergeFunc, gen func(*rand.Rand) draft.Value, trials int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	if gen == nil {
		gen = genScalar
	}
	str := func(v draft.Value) string {
		b, err := v.MarshalJSON()
		if err != nil {
			return v.Kind().String()
		}
		return string(b)
	}
	fail := func(law string, got, want draft.Value, in ...draft.Value) error {
		e := &LawError{Law: law, Got: str(got), Want: str(want)}
		for _, v := range in {
			e.Inputs = append(e.Inputs, str(v))
		}
		return e
	}
	for range trials {
		a, b, c := gen(rng), gen(rng), gen(rng)
		if x, y := f(a, b), f(a, b); !x.Equal(y) {
			return fail("deterministic", x, y, a, b)
		}
		if x := f(a, a); !x.Equal(a) {
			return fail("idempotent", x, a, a)
		}
		if x, y := f(a, b), f(b, a); !x.Equal(y) {
			return fail("commutative", x, y, a, b)
		}
		if x, y := f(f(a, b), c), f(a, f(b, c)); !x.Equal(y) {
			return fail("associative", x, y, a, b, c)
		}
	}
	return nil
}

func genScalar(rng *rand.Rand) draft.Value {
	switch rng.IntN(5) {
	case 0:
		return draft.Null()
	case 1:
		return draft.Bool(rng.IntN(2) == 0)
	case 2:
		return draft.Float(float64(rng.IntN(41)-20) / 4)
	case 3:
		return draft.String(string(rune('a' + rng.IntN(6))))
	}
	return draft.Int(int64(rng.IntN(21) - 10))
}
