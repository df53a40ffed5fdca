package crdt

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/syncmesh/syncmesh/draft"
)

// StrategyKind names a conflict-resolution strategy. The numbering is part of
// the strategy-table fingerprint: append only.
type StrategyKind uint8

// The strategies. See docs/semantics.md.
const (
	// LastWriterWins shows the concurrent value with the greatest
	// (timestamp, replica, sequence). The default.
	LastWriterWins StrategyKind = iota
	// MultiValue shows the value when there is one, and a list of all
	// concurrent values ordered by (timestamp, replica, sequence) when there
	// are several; the application resolves by writing.
	MultiValue
	// Counter merges by summing increments: concurrent increments all count.
	Counter
	// Max shows the greatest number among the concurrent values.
	Max
	// Min shows the smallest number among the concurrent values.
	Min
	// Custom shows the fold of a user merge function over the concurrent
	// values.
	Custom
)

var strategyNames = [...]string{"lww", "multi", "counter", "max", "min", "custom"}

// String returns the strategy's short name.
func (k StrategyKind) String() string {
	if int(k) < len(strategyNames) {
		return strategyNames[k]
	}
	return fmt.Sprintf("strategy(%d)", k)
}

// MergeFunc merges two concurrent values into one. It must be deterministic,
// commutative, associative and idempotent (check with CheckMergeLaws); it
// must not retain or modify its arguments (Values are immutable anyway).
type MergeFunc func(a, b draft.Value) draft.Value

// Strategy is a conflict-resolution strategy. Build one with the constructors
// below. A Strategy is a plain value, safe for concurrent use if its
// MergeFunc is.
type Strategy struct {
	Kind StrategyKind
	// Name identifies a Custom merge function in the fingerprint: replicas
	// whose tables differ only in a custom function's name refuse each other.
	Name  string
	Merge MergeFunc
}

// LWW returns the LastWriterWins strategy.
func LWW() Strategy { return Strategy{Kind: LastWriterWins} }

// Multi returns the MultiValue strategy.
func Multi() Strategy { return Strategy{Kind: MultiValue} }

// Count returns the Counter strategy.
func Count() Strategy { return Strategy{Kind: Counter} }

// Maximum returns the Max strategy.
func Maximum() Strategy { return Strategy{Kind: Max} }

// Minimum returns the Min strategy.
func Minimum() Strategy { return Strategy{Kind: Min} }

// CustomMerge returns a Custom strategy with a user merge function; name
// enters the table's fingerprint and must be the same on every replica.
func CustomMerge(name string, f MergeFunc) Strategy {
	return Strategy{Kind: Custom, Name: name, Merge: f}
}

type rule struct {
	pattern string
	segs    []string // "*" is a wildcard
	wild    []bool
	strat   Strategy
}

// Strategies is the table choosing a strategy per path. A pattern is a JSON
// Pointer whose segments are keys or "*" (any one key or list element);
// "/inventory/*/qty" matches /inventory/apple/qty. A pattern matches paths of
// exactly its length. Among matching patterns the most specific wins: compare
// segment by segment from the left, and at the first position where one has
// a literal key and the other "*", the literal wins. Paths no pattern
// matches use LastWriterWins. A literal key "*" cannot be matched
// specifically. List elements match only "*".
//
// Every replica of a document must use the same table; Fingerprint lets a
// mesh refuse peers whose table differs. A Strategies must not be changed
// after it is given to New; reads are then safe for concurrent use.
type Strategies struct {
	rules []rule
}

// NewStrategies returns an empty table (everything LastWriterWins).
func NewStrategies() *Strategies { return &Strategies{} }

// Set adds or replaces the strategy for pattern.
func (s *Strategies) Set(pattern string, st Strategy) error {
	p, err := draft.ParsePointer(pattern)
	if err != nil {
		return fmt.Errorf("%w: pattern %q: %v", ErrConfig, pattern, err)
	}
	if len(p) == 0 {
		return fmt.Errorf("%w: pattern %q addresses the root, which is always a map", ErrConfig, pattern)
	}
	if st.Kind > Custom {
		return fmt.Errorf("%w: unknown strategy %d", ErrConfig, st.Kind)
	}
	if st.Kind == Custom && (st.Merge == nil || st.Name == "") {
		return fmt.Errorf("%w: custom strategy for %q needs a name and a merge function", ErrConfig, pattern)
	}
	r := rule{pattern: p.String(), strat: st}
	for _, sg := range p {
		t := sg.Token()
		r.segs = append(r.segs, t)
		r.wild = append(r.wild, t == "*")
	}
	for i := range s.rules {
		if s.rules[i].pattern == r.pattern {
			s.rules[i] = r
			return nil
		}
	}
	s.rules = append(s.rules, r)
	slices.SortFunc(s.rules, func(a, b rule) int { return cmp.Compare(a.pattern, b.pattern) })
	return nil
}

// MustSet is Set that panics on error, for tables written in code.
func (s *Strategies) MustSet(pattern string, st Strategy) *Strategies {
	if err := s.Set(pattern, st); err != nil {
		panic(err)
	}
	return s
}

// lookup returns the strategy for a register path.
func (s *Strategies) lookup(path []Segment) Strategy {
	if i := s.ruleFor(path); i >= 0 {
		return s.rules[i].strat
	}
	return Strategy{}
}

// ruleFor returns the index of the most specific rule matching path, or -1.
func (s *Strategies) ruleFor(path []Segment) int {
	if s == nil {
		return -1
	}
	best := -1
	for i := range s.rules {
		r := &s.rules[i]
		if len(r.segs) != len(path) || !r.matches(path) {
			continue
		}
		if best < 0 || r.moreSpecific(&s.rules[best]) {
			best = i
		}
	}
	return best
}

func (r *rule) matches(path []Segment) bool {
	for i, sg := range path {
		if r.wild[i] {
			continue
		}
		if sg.IsElem() || sg.Key != r.segs[i] {
			return false
		}
	}
	return true
}

func (r *rule) moreSpecific(o *rule) bool {
	for i := range r.wild {
		if r.wild[i] != o.wild[i] {
			return !r.wild[i]
		}
	}
	return false
}

// has reports whether any rule uses strategy kind k.
func (s *Strategies) has(k StrategyKind) bool {
	if s == nil {
		return false
	}
	for i := range s.rules {
		if s.rules[i].strat.Kind == k {
			return true
		}
	}
	return false
}

// Rules returns the table's patterns and strategies in pattern order.
func (s *Strategies) Rules() (patterns []string, strategies []Strategy) {
	if s == nil {
		return nil, nil
	}
	for _, r := range s.rules {
		patterns = append(patterns, r.pattern)
		strategies = append(strategies, r.strat)
	}
	return patterns, strategies
}

// Fingerprint returns the SHA-256 of a canonical encoding of the table
// (format version, then per rule in pattern order: pattern, strategy kind,
// custom name). Equal tables have equal fingerprints on every platform.
func (s *Strategies) Fingerprint() [32]byte {
	h := sha256.New()
	buf := []byte("syncmesh/crdt strategies v1\x00")
	if s != nil {
		for _, r := range s.rules {
			buf = binary.AppendUvarint(buf, uint64(len(r.pattern)))
			buf = append(buf, r.pattern...)
			buf = append(buf, byte(r.strat.Kind))
			buf = binary.AppendUvarint(buf, uint64(len(r.strat.Name)))
			buf = append(buf, r.strat.Name...)
		}
	}
	h.Write(buf)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
