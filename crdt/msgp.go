package crdt

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A minimal msgpack writer and a bounds-checked reader: the wire formats are
// plain msgpack (any msgpack library decodes them), written by hand so that
// encoding is deterministic, allocation-light and never reflects.

func mpArray(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func mpMap(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

func mpUint(b []byte, u uint64) []byte {
	switch {
	case u < 128:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func mpInt(b []byte, i int64) []byte {
	if i >= 0 {
		return mpUint(b, uint64(i))
	}
	switch {
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(b, 0xd1, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

func mpFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func mpStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func mpBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xc5, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
}

func mpBin(b []byte, p string) []byte { return append(mpBinHeader(b, len(p)), p...) }

func mpNil(b []byte) []byte { return append(b, 0xc0) }

func mpBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// mpReader decodes msgpack with every length checked against the remaining
// input and a limit before anything is allocated. The first error sticks;
// after it every read returns zero values.
type mpReader struct {
	b   []byte
	off int
	err error
}

func (r *mpReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *mpReader) left() int { return len(r.b) - r.off }

func (r *mpReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.left() {
		r.fail("truncated (need %d bytes, have %d)", n, r.left())
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *mpReader) byte() byte {
	if r.err == nil && r.off < len(r.b) {
		c := r.b[r.off]
		r.off++
		return c
	}
	p := r.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *mpReader) peek() byte {
	if r.err != nil || r.left() == 0 {
		return 0xc1 // never used by msgpack
	}
	return r.b[r.off]
}

func (r *mpReader) be(n int) uint64 {
	p := r.take(n)
	var u uint64
	for _, c := range p {
		u = u<<8 | uint64(c)
	}
	return u
}

// length reads an array (or, with isMap, map) header; each element needs at
// least minBytes bytes, which bounds n by the remaining input.
func (r *mpReader) length(isMap bool, limit, minBytes int) int {
	c := r.byte()
	var n uint64
	switch {
	case !isMap && c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case isMap && c&0xf0 == 0x80:
		n = uint64(c & 0x0f)
	case !isMap && c == 0xdc, isMap && c == 0xde:
		n = r.be(2)
	case !isMap && c == 0xdd, isMap && c == 0xdf:
		n = r.be(4)
	default:
		if r.err == nil {
			r.off--
			r.fail("expected %s, found 0x%02x", map[bool]string{false: "array", true: "map"}[isMap], c)
		}
		return 0
	}
	if n > uint64(limit) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: %d elements, limit %d", ErrTooLarge, n, limit)
		}
		return 0
	}
	if minBytes < 1 {
		minBytes = 1
	}
	if n*uint64(minBytes) > uint64(r.left()) {
		r.fail("%d elements cannot fit in %d bytes", n, r.left())
		return 0
	}
	return int(n)
}

func (r *mpReader) array(limit, minBytes int) int { return r.length(false, limit, minBytes) }

func (r *mpReader) uint() uint64 {
	c := r.byte()
	switch {
	case c < 0x80:
		return uint64(c)
	case c == 0xcc:
		return r.be(1)
	case c == 0xcd:
		return r.be(2)
	case c == 0xce:
		return r.be(4)
	case c == 0xcf:
		return r.be(8)
	}
	if r.err == nil {
		r.off--
		r.fail("expected unsigned integer, found 0x%02x", c)
	}
	return 0
}

// int reads any msgpack integer that fits an int64.
func (r *mpReader) int() int64 {
	c := r.peek()
	switch {
	case c >= 0xe0:
		r.off++
		return int64(int8(c))
	case c == 0xd0:
		r.off++
		return int64(int8(r.be(1)))
	case c == 0xd1:
		r.off++
		return int64(int16(r.be(2)))
	case c == 0xd2:
		r.off++
		return int64(int32(r.be(4)))
	case c == 0xd3:
		r.off++
		return int64(r.be(8))
	}
	u := r.uint()
	if u > math.MaxInt64 {
		r.fail("integer %d overflows int64", u)
		return 0
	}
	return int64(u)
}

func (r *mpReader) str(limit int) string { return string(r.strBytes(limit)) }

// strBytes reads a string's bytes (aliasing the input).
func (r *mpReader) strBytes(limit int) []byte {
	c := r.byte()
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n = r.be(1)
	case c == 0xda:
		n = r.be(2)
	case c == 0xdb:
		n = r.be(4)
	default:
		if r.err == nil {
			r.off--
			r.fail("expected string, found 0x%02x", c)
		}
		return nil
	}
	if n > uint64(limit) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: string of %d bytes, limit %d", ErrTooLarge, n, limit)
		}
		return nil
	}
	return r.take(int(n))
}

func (r *mpReader) bin(limit int) []byte {
	c := r.byte()
	var n uint64
	switch c {
	case 0xc4:
		n = r.be(1)
	case 0xc5:
		n = r.be(2)
	case 0xc6:
		n = r.be(4)
	default:
		if r.err == nil {
			r.off--
			r.fail("expected bin, found 0x%02x", c)
		}
		return nil
	}
	if n > uint64(limit) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: bin of %d bytes, limit %d", ErrTooLarge, n, limit)
		}
		return nil
	}
	return r.take(int(n))
}

func (r *mpReader) float() float64 {
	c := r.byte()
	switch c {
	case 0xcb:
		return math.Float64frombits(r.be(8))
	case 0xca:
		return float64(math.Float32frombits(uint32(r.be(4))))
	}
	if r.err == nil {
		r.off--
		r.fail("expected float, found 0x%02x", c)
	}
	return 0
}

func (r *mpReader) isNil() bool {
	if r.peek() == 0xc0 {
		r.off++
		return true
	}
	return false
}

// skip passes over one msgpack value of any type, nested at most depth
// deep.
func (r *mpReader) skip(depth int) {
	if r.err != nil {
		return
	}
	if depth <= 0 {
		r.fail("nested too deep")
		return
	}
	c := r.peek()
	switch {
	case c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		r.off++
	case c&0xf0 == 0x80 || c == 0xde || c == 0xdf:
		n := r.length(true, maxWireList, 2)
		for range 2 * n {
			r.skip(depth - 1)
		}
	case c&0xf0 == 0x90 || c == 0xdc || c == 0xdd:
		n := r.array(maxWireList, 1)
		for range n {
			r.skip(depth - 1)
		}
	case c&0xe0 == 0xa0 || (c >= 0xd9 && c <= 0xdb):
		r.strBytes(maxWireString)
	case c >= 0xc4 && c <= 0xc6:
		r.bin(maxWireString)
	case c == 0xca || c == 0xcb:
		r.float()
	case c >= 0xcc && c <= 0xcf:
		r.uint()
	case c >= 0xd0 && c <= 0xd3:
		r.int()
	default:
		r.fail("unsupported msgpack type 0x%02x", c)
	}
}
