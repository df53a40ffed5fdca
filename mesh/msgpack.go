package mesh

import (
	"encoding/binary"
	"math"
)

// This file holds the small subset of msgpack that the wire format uses:
// arrays, unsigned integers, booleans, binary and strings. It is written by
// hand rather than through reflection so that encoding is deterministic and
// minimal (every integer and header in its shortest form), and so that the
// decoder can check every length against the remaining input before it
// allocates anything. The bytes are ordinary msgpack: any msgpack library can
// read them (wire_test.go checks this against vmihailenco/msgpack/v5).

// appendArrayHeader appends a msgpack array header for n elements.
func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

// appendUint appends v in its shortest msgpack unsigned form.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
	}
}

// appendBool appends a msgpack boolean.
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// appendBin appends p as msgpack binary.
func appendBin(b []byte, p []byte) []byte {
	switch n := len(p); {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

// appendStr appends s as a msgpack string.
func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// The sizes of the forms above, for EncodedSize; wire_test.go checks
// them against the appends at every boundary.

func arrayHeaderSize(n int) int {
	switch {
	case n < 16:
		return 1
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

func uintSize(v uint64) int {
	switch {
	case v < 128:
		return 1
	case v <= math.MaxUint8:
		return 2
	case v <= math.MaxUint16:
		return 3
	case v <= math.MaxUint32:
		return 5
	}
	return 9
}

func binSize(n int) int {
	switch {
	case n <= math.MaxUint8:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func strSize(s string) int {
	switch l := len(s); {
	case l < 32:
		return 1 + l
	case l <= math.MaxUint8:
		return 2 + l
	case l <= math.MaxUint16:
		return 3 + l
	default:
		return 5 + l
	}
}

// reader decodes the msgpack subset from a byte slice. The first error sticks:
// later reads return zero values, and err reports the first failure, so a
// decoder can read a whole message and check err once at the end of each
// step that would allocate.
type reader struct {
	b   []byte
	err error
	// alias makes raw return sub-slices of b instead of copies.
	alias bool
}

func (r *reader) fail(reason RejectReason, what string) {
	if r.err == nil {
		r.err = &DecodeError{Reason: reason, Detail: what}
	}
}

// need reports whether n more bytes are available, failing if not.
func (r *reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.b) {
		r.fail(RejectTruncated, what)
		return false
	}
	return true
}

func (r *reader) byte1(what string) byte {
	if !r.need(1, what) {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) be(n int, what string) uint64 {
	if !r.need(n, what) {
		return 0
	}
	var v uint64
	for _, c := range r.b[:n] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[n:]
	return v
}

// arrayLen reads an array header. Every element takes at least minElem
// bytes, so a length the remaining input cannot hold is rejected before the
// caller allocates for it; max bounds it further.
func (r *reader) arrayLen(minElem, max int, what string) int {
	c := r.byte1(what)
	var n uint64
	switch {
	case r.err != nil:
		return 0
	case c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n = r.be(2, what)
	case c == 0xdd:
		n = r.be(4, what)
	default:
		r.fail(RejectMalformed, what+": not an array")
		return 0
	}
	if r.err != nil {
		return 0
	}
	if n > uint64(max) {
		r.fail(RejectTooLarge, what)
		return 0
	}
	if n*uint64(minElem) > uint64(len(r.b)) {
		r.fail(RejectTruncated, what)
		return 0
	}
	return int(n)
}

// expectArray reads an array header and requires exactly n elements.
func (r *reader) expectArray(n int, what string) {
	if got := r.arrayLen(1, 255, what); r.err == nil && got != n {
		r.fail(RejectMalformed, what+": wrong field count")
	}
}

func (r *reader) uint(what string) uint64 {
	c := r.byte1(what)
	switch {
	case r.err != nil:
		return 0
	case c < 0x80:
		return uint64(c)
	case c == 0xcc:
		return r.be(1, what)
	case c == 0xcd:
		return r.be(2, what)
	case c == 0xce:
		return r.be(4, what)
	case c == 0xcf:
		return r.be(8, what)
	default:
		r.fail(RejectMalformed, what+": not an unsigned integer")
		return 0
	}
}

func (r *reader) bool(what string) bool {
	c := r.byte1(what)
	switch {
	case r.err != nil:
		return false
	case c == 0xc2:
		return false
	case c == 0xc3:
		return true
	default:
		r.fail(RejectMalformed, what+": not a boolean")
		return false
	}
}

// bin reads msgpack binary of at most max bytes and returns a copy.
func (r *reader) bin(max int, what string) []byte {
	c := r.byte1(what)
	var n uint64
	switch {
	case r.err != nil:
		return nil
	case c == 0xc4:
		n = r.be(1, what)
	case c == 0xc5:
		n = r.be(2, what)
	case c == 0xc6:
		n = r.be(4, what)
	default:
		r.fail(RejectMalformed, what+": not binary")
		return nil
	}
	return r.raw(n, max, what)
}

// str reads a msgpack string of at most max bytes.
func (r *reader) str(max int, what string) string {
	c := r.byte1(what)
	var n uint64
	switch {
	case r.err != nil:
		return ""
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n = r.be(1, what)
	case c == 0xda:
		n = r.be(2, what)
	case c == 0xdb:
		n = r.be(4, what)
	default:
		r.fail(RejectMalformed, what+": not a string")
		return ""
	}
	return string(r.raw(n, max, what))
}

func (r *reader) raw(n uint64, max int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail(RejectTooLarge, what)
		return nil
	}
	if !r.need(int(n), what) {
		return nil
	}
	if r.alias {
		p := r.b[:n:n]
		r.b = r.b[n:]
		return p
	}
	p := make([]byte, n)
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return p
}
