package draft

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type segKind uint8

const (
	segKey segKind = iota
	segIndex
	segEnd
)

// Segment is one step of a Path: a map key, a list index, or End ("-",
// the position after a list's last item, valid as the target of add, move
// and copy). Segments are plain values, safe for concurrent use.
//
// A segment resolves against the container it meets: in a map, any
// segment is used as the key of its token text (so Index(3) reads key
// "3"); in a list, Index and End are positions, and a Key whose text is a
// canonical decimal index ("0", "17", not "01") is read as that index.
type Segment struct {
	key string
	n   int // 0: a key; 1: End; an Index segment's index i as i+2 (i >= 0) or i (i < 0)
}

// A segment is 24 bytes (a produce carves one path per patch and per
// sub-draft): its kind and index share n, and the zero Segment is Key("").

func (s Segment) kind() segKind {
	switch s.n {
	case 0:
		return segKey
	case 1:
		return segEnd
	}
	return segIndex
}

// index returns an Index segment's index.
func (s Segment) index() int {
	if s.n > 1 {
		return s.n - 2
	}
	return s.n
}

// Key returns a map-key segment.
func Key(k string) Segment { return Segment{key: k} }

// Index returns a list-index segment. A negative index never resolves
// (and an index above math.MaxInt-2 is read as math.MaxInt-2).
func Index(i int) Segment {
	if i < 0 {
		return Segment{n: i}
	}
	return Segment{n: min(i, math.MaxInt-2) + 2}
}

// End returns the "-" segment: the end of a list.
func End() Segment { return Segment{n: 1} }

// IsIndex reports whether s was made as a list index (Index, or a
// canonical decimal token from ParsePointer).
func (s Segment) IsIndex() bool { return s.kind() == segIndex }

// IsEnd reports whether s is the "-" end-of-list segment.
func (s Segment) IsEnd() bool { return s.kind() == segEnd }

// IsKey reports whether s was made as a map key.
func (s Segment) IsKey() bool { return s.kind() == segKey }

// AsIndex returns the index and true for Index segments.
func (s Segment) AsIndex() (int, bool) {
	if s.kind() != segIndex {
		return 0, false
	}
	return s.index(), true
}

// Token returns the segment's unescaped RFC 6901 reference token: the key,
// the decimal index, or "-".
func (s Segment) Token() string {
	switch s.kind() {
	case segIndex:
		return strconv.Itoa(s.index())
	case segEnd:
		return "-"
	}
	return s.key
}

// String returns the unescaped token (same as Token).
func (s Segment) String() string { return s.Token() }

// listIndex interprets s as a position in a list (End is not a position).
func (s Segment) listIndex() (int, bool) {
	switch s.kind() {
	case segIndex:
		return s.index(), s.n >= 0
	case segKey:
		return parseIndexToken(s.key)
	}
	return 0, false
}

// Path addresses a value inside a tree: the empty Path is the root.
// A Path is a slice; functions in this package never modify a Path they are
// given or one they have returned, so a Path is safe for concurrent reads.
type Path []Segment

// P builds a Path from strings (keys), ints (indices) and Segments.
// Any other argument becomes a key of its fmt.Sprint text.
func P(parts ...any) Path {
	p := make(Path, len(parts))
	for i, x := range parts {
		switch x := x.(type) {
		case string:
			p[i] = Key(x)
		case int:
			p[i] = Index(x)
		case Segment:
			p[i] = x
		default:
			p[i] = Key(fmt.Sprint(x))
		}
	}
	return p
}

// String formats p as an RFC 6901 JSON Pointer ("" for the root, otherwise
// "/" before each token, with "~" written "~0" and "/" written "~1").
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte('/')
		t := s.Token()
		if strings.ContainsAny(t, "~/") {
			t = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
		}
		b.WriteString(t)
	}
	return b.String()
}

// Equal reports whether p and o have the same tokens (Key("3") equals
// Index(3): both are written "/3").
func (p Path) Equal(o Path) bool {
	if len(p) != len(o) {
		return false
	}
	for i := range p {
		if !p[i].sameToken(o[i]) {
			return false
		}
	}
	return true
}

// sameToken reports whether s and o have the same token text, without
// formatting indices.
func (s Segment) sameToken(o Segment) bool {
	switch {
	case s.kind() == o.kind():
		return s.n == o.n && s.key == o.key
	case s.kind() == segKey && o.kind() == segIndex:
		n, ok := parseIndexToken(s.key)
		return ok && n == o.index()
	case s.kind() == segIndex && o.kind() == segKey:
		return o.sameToken(s)
	case s.kind() == segEnd:
		return o.kind() == segKey && o.key == "-"
	case o.kind() == segEnd:
		return s.kind() == segKey && s.key == "-"
	}
	return false
}

// HasPrefix reports whether q is a prefix of p (token-wise).
func (p Path) HasPrefix(q Path) bool { return len(q) <= len(p) && p[:len(q)].Equal(q) }

// append returns p + s in a new slice (never sharing p's backing array).
func (p Path) append(s ...Segment) Path {
	q := make(Path, len(p), len(p)+len(s))
	copy(q, p)
	return append(q, s...)
}

// maxIndexDigits bounds decimal index tokens so they always fit an int.
const maxIndexDigits = 15

// parseIndexToken accepts "0" or a decimal without leading zeros.
func parseIndexToken(t string) (int, bool) {
	if t == "" || len(t) > maxIndexDigits || (len(t) > 1 && t[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ParsePointer parses an RFC 6901 JSON Pointer. "" is the root; otherwise
// the pointer must start with "/". "~0" and "~1" decode to "~" and "/";
// any other "~" is an error. Canonical decimal tokens become Index
// segments, "-" becomes End, everything else a Key (see Segment for how
// each resolves against maps and lists).
func ParsePointer(s string) (Path, error) {
	if s == "" {
		return Path{}, nil
	}
	if s[0] != '/' {
		return nil, &PointerError{Pointer: s, Reason: "must be empty or start with '/'"}
	}
	toks := strings.Split(s[1:], "/")
	p := make(Path, len(toks))
	for i, t := range toks {
		if strings.IndexByte(t, '~') >= 0 {
			var b strings.Builder
			for j := 0; j < len(t); j++ {
				if t[j] != '~' {
					b.WriteByte(t[j])
					continue
				}
				if j+1 < len(t) && t[j+1] == '0' {
					b.WriteByte('~')
				} else if j+1 < len(t) && t[j+1] == '1' {
					b.WriteByte('/')
				} else {
					return nil, &PointerError{Pointer: s, Reason: "'~' must be followed by '0' or '1'"}
				}
				j++
			}
			p[i] = Key(b.String())
			continue
		}
		if t == "-" {
			p[i] = End()
		} else if n, ok := parseIndexToken(t); ok {
			p[i] = Index(n)
		} else {
			p[i] = Key(t)
		}
	}
	return p, nil
}

// MustParsePointer is ParsePointer for constant pointers in code and
// tests; it panics on a malformed pointer.
func MustParsePointer(s string) Path {
	p, err := ParsePointer(s)
	if err != nil {
		panic(err)
	}
	return p
}
