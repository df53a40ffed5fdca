package draft

import (
	"bytes"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpack encoding
//
// A Value is the natural msgpack value: nil, bool, int (smallest
// encoding), float64, str, bin (Bytes), array (List) and map (Map, keys as
// str in ascending order). A Patch is a map with members in the fixed
// order "op", "path", "from" (move, copy), "value" (add, replace, test),
// "delta" (increments); paths are arrays whose elements are strings (keys,
// and "-" for End) or non-negative integers (indices), so msgpack keeps
// the key/index distinction that JSON Pointer strings lose. Encoding is
// deterministic: equal inputs give identical bytes.

var (
	_ msgpack.CustomEncoder = Value{}
	_ msgpack.CustomDecoder = (*Value)(nil)
	_ msgpack.CustomEncoder = Patch{}
	_ msgpack.CustomDecoder = (*Patch)(nil)
)

// EncodeMsgpack implements msgpack.CustomEncoder. The zero Value encodes
// as nil (like Null).
func (v Value) EncodeMsgpack(enc *msgpack.Encoder) error { return v.encodeMsgpack(enc, 0) }

func (v Value) encodeMsgpack(enc *msgpack.Encoder, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrBadValue, maxDepth)
	}
	switch v.kind {
	case Invalid, NullKind:
		return enc.EncodeNil()
	case BoolKind:
		return enc.EncodeBool(v.num == 1)
	case IntKind:
		return enc.EncodeInt(int64(v.num))
	case FloatKind:
		return enc.EncodeFloat64(math.Float64frombits(v.num))
	case StringKind:
		return enc.EncodeString(v.text())
	case BytesKind:
		return enc.EncodeBytes([]byte(v.text()))
	case MapKind:
		if err := enc.EncodeMapLen(int(v.num)); err != nil {
			return err
		}
		var err error
		mapEach(v.mroot(), func(k string, x Value) bool {
			if err = enc.EncodeString(k); err == nil {
				err = x.encodeMsgpack(enc, depth+1)
			}
			return err == nil
		})
		return err
	case ListKind:
		if err := enc.EncodeArrayLen(int(v.num)); err != nil {
			return err
		}
		var err error
		listEach(v.lroot(), 0, func(_ int, x Value) bool {
			err = x.encodeMsgpack(enc, depth+1)
			return err == nil
		})
		return err
	}
	return ErrBadValue
}

// DecodeMsgpack implements msgpack.CustomDecoder. Maps must have string
// keys (duplicates keep the last); extension types are rejected.
func (v *Value) DecodeMsgpack(dec *msgpack.Decoder) error {
	x, err := decodeMsgpackValue(dec, 0, -1)
	if err != nil {
		return err
	}
	*v = x
	return nil
}

// binChunk is how much decodeBin reads at a time when the input's size is
// unknown, so a forged length costs at most what the input holds.
const binChunk = 1 << 16

// decodeBin decodes a bin value. msgpack's DecodeBytes allocates the
// declared length at once (a 5-byte input can declare 4 GB), so the
// length is checked against remaining when it is known and the bytes are
// read in chunks otherwise.
func decodeBin(dec *msgpack.Decoder, remaining int) ([]byte, error) {
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return nil, badMsgpack("%v", err)
	}
	if n < 0 || (remaining >= 0 && n > remaining) {
		return nil, badMsgpack("bytes length %d", n)
	}
	b := make([]byte, 0, min(n, binChunk))
	for len(b) < n {
		k := min(n-len(b), binChunk)
		b = append(b, make([]byte, k)...)
		if err := dec.ReadFull(b[len(b)-k:]); err != nil {
			return nil, badMsgpack("%v", err)
		}
	}
	return b, nil
}

func badMsgpack(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack: %s", ErrBadValue, fmt.Sprintf(format, args...))
}

// decodeMsgpackValue decodes one value; remaining, when >= 0, is the
// number of unread input bytes, used to reject lengths the input cannot
// hold before allocating for them.
func decodeMsgpackValue(dec *msgpack.Decoder, depth, remaining int) (Value, error) {
	if depth > maxDepth {
		return Value{}, badMsgpack("nesting deeper than %d", maxDepth)
	}
	c, err := dec.PeekCode()
	if err != nil {
		return Value{}, badMsgpack("%v", err)
	}
	switch {
	case c == msgpcode.Nil:
		return Null(), dec.DecodeNil()
	case c == msgpcode.False || c == msgpcode.True:
		b, err := dec.DecodeBool()
		return Bool(b), err
	case c == msgpcode.Uint64:
		u, err := dec.DecodeUint64()
		if err != nil {
			return Value{}, err
		}
		if u > math.MaxInt64 {
			return Value{}, badMsgpack("integer %d overflows int64", u)
		}
		return Int(int64(u)), nil
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		i, err := dec.DecodeInt64()
		return Int(i), err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := dec.DecodeFloat64()
		return Float(f), err
	case msgpcode.IsString(c):
		s, err := dec.DecodeString()
		return String(s), err
	case msgpcode.IsBin(c):
		b, err := decodeBin(dec, remaining)
		return Bytes(b), err
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return Value{}, err
		}
		if n < 0 || (remaining >= 0 && n > remaining) {
			return Value{}, badMsgpack("array length %d", n)
		}
		items := make([]Value, 0, min(n, 1024))
		for range n {
			x, err := decodeMsgpackValue(dec, depth+1, remaining)
			if err != nil {
				return Value{}, err
			}
			items = append(items, x)
		}
		return listValue(uint64(len(items)), listBuild(nil, items)), nil
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		n, err := dec.DecodeMapLen()
		if err != nil {
			return Value{}, err
		}
		if n < 0 || (remaining >= 0 && n > remaining) {
			return Value{}, badMsgpack("map length %d", n)
		}
		ed := new(edit)
		m := Value{kind: MapKind}
		for range n {
			kc, err := dec.PeekCode()
			if err != nil {
				return Value{}, badMsgpack("%v", err)
			}
			if !msgpcode.IsString(kc) {
				return Value{}, badMsgpack("map key is not a string")
			}
			k, err := dec.DecodeString()
			if err != nil {
				return Value{}, err
			}
			x, err := decodeMsgpackValue(dec, depth+1, remaining)
			if err != nil {
				return Value{}, err
			}
			m = m.mapSet(ed, k, x)
		}
		return m, nil
	}
	return Value{}, badMsgpack("unsupported type code 0x%02x", c)
}

// EncodeMsgpack implements msgpack.CustomEncoder (see the format above).
func (p Patch) EncodeMsgpack(enc *msgpack.Encoder) error {
	if !p.Op.valid() {
		return fmt.Errorf("%w: unknown op %q", ErrBadPatch, p.Op)
	}
	hasFrom := p.Op == OpMove || p.Op == OpCopy
	hasValue := p.Op == OpAdd || p.Op == OpReplace || p.Op == OpTest
	if hasValue && !p.Value.IsValid() {
		return fmt.Errorf("%w: %s without a value", ErrBadPatch, p.Op)
	}
	n := 2
	for _, b := range []bool{hasFrom, hasValue, p.Delta.IsValid()} {
		if b {
			n++
		}
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	if err := enc.EncodeString("op"); err != nil {
		return err
	}
	if err := enc.EncodeString(string(p.Op)); err != nil {
		return err
	}
	if err := encodePathMsgpack(enc, "path", p.Path); err != nil {
		return err
	}
	if hasFrom {
		if err := encodePathMsgpack(enc, "from", p.From); err != nil {
			return err
		}
	}
	if hasValue {
		if err := enc.EncodeString("value"); err != nil {
			return err
		}
		if err := p.Value.EncodeMsgpack(enc); err != nil {
			return err
		}
	}
	if p.Delta.IsValid() {
		if err := enc.EncodeString("delta"); err != nil {
			return err
		}
		return p.Delta.EncodeMsgpack(enc)
	}
	return nil
}

func encodePathMsgpack(enc *msgpack.Encoder, name string, p Path) error {
	if err := enc.EncodeString(name); err != nil {
		return err
	}
	if err := enc.EncodeArrayLen(len(p)); err != nil {
		return err
	}
	for _, s := range p {
		var err error
		if i, ok := s.AsIndex(); ok {
			err = enc.EncodeInt(int64(i))
		} else {
			err = enc.EncodeString(s.Token())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder, validating like
// Patch.UnmarshalJSON. Errors unwrap to ErrBadPatch or ErrBadPointer.
func (p *Patch) DecodeMsgpack(dec *msgpack.Decoder) error {
	np, err := decodePatchMsgpack(dec, -1)
	if err != nil {
		return err
	}
	*p = np
	return nil
}

func decodePatchMsgpack(dec *msgpack.Decoder, remaining int) (Patch, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: msgpack: %s", ErrBadPatch, fmt.Sprintf(format, args...))
	}
	c, err := dec.PeekCode()
	if err != nil {
		return Patch{}, bad("%v", err)
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return Patch{}, bad("patch is not a map")
	}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return Patch{}, bad("%v", err)
	}
	if n < 0 || n > 16 {
		return Patch{}, bad("patch has %d members", n)
	}
	var np Patch
	var hasOp, hasPath, hasFrom, hasValue bool
	for range n {
		kc, err := dec.PeekCode()
		if err != nil || !msgpcode.IsString(kc) {
			return Patch{}, bad("member name is not a string")
		}
		k, err := dec.DecodeString()
		if err != nil {
			return Patch{}, bad("%v", err)
		}
		switch k {
		case "op":
			if kc, err := dec.PeekCode(); err != nil || !msgpcode.IsString(kc) {
				return Patch{}, bad("op is not a string")
			}
			s, err := dec.DecodeString()
			if err != nil {
				return Patch{}, bad("%v", err)
			}
			np.Op, hasOp = Op(s), true
		case "path":
			if np.Path, err = decodePathMsgpack(dec, remaining); err != nil {
				return Patch{}, err
			}
			hasPath = true
		case "from":
			if np.From, err = decodePathMsgpack(dec, remaining); err != nil {
				return Patch{}, err
			}
			hasFrom = true
		case "value", "delta":
			x, err := decodeMsgpackValue(dec, 0, remaining)
			if err != nil {
				return Patch{}, bad("%s: %v", k, err)
			}
			if k == "value" {
				np.Value, hasValue = x, true
			} else if x.kind == IntKind || x.kind == FloatKind {
				np.Delta = x
			} else if x.kind != NullKind {
				return Patch{}, bad("delta must be a number")
			}
		default:
			if err := dec.Skip(); err != nil {
				return Patch{}, bad("%v", err)
			}
		}
	}
	switch {
	case !hasOp || !np.Op.valid():
		return Patch{}, bad("missing or unknown op")
	case !hasPath:
		return Patch{}, bad("missing path")
	case (np.Op == OpMove || np.Op == OpCopy) && !hasFrom:
		return Patch{}, bad("%s without from", np.Op)
	case (np.Op == OpAdd || np.Op == OpReplace || np.Op == OpTest) && !hasValue:
		return Patch{}, bad("%s without value", np.Op)
	}
	if np.Op != OpMove && np.Op != OpCopy {
		np.From = nil
	}
	if np.Op != OpAdd && np.Op != OpReplace && np.Op != OpTest {
		np.Value = Value{}
	}
	return np, nil
}

func decodePathMsgpack(dec *msgpack.Decoder, remaining int) (Path, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: msgpack: %s", ErrBadPointer, fmt.Sprintf(format, args...))
	}
	c, err := dec.PeekCode()
	if err != nil {
		return nil, bad("%v", err)
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return nil, bad("path is not an array")
	}
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return nil, bad("%v", err)
	}
	if n < 0 || (remaining >= 0 && n > remaining) {
		return nil, bad("path length %d", n)
	}
	p := make(Path, 0, min(n, 64))
	for range n {
		c, err := dec.PeekCode()
		if err != nil {
			return nil, bad("%v", err)
		}
		switch {
		case msgpcode.IsString(c):
			s, err := dec.DecodeString()
			if err != nil {
				return nil, bad("%v", err)
			}
			p = append(p, Key(s))
		case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
			if c == msgpcode.Uint64 {
				return nil, bad("index out of range")
			}
			i, err := dec.DecodeInt64()
			if err != nil {
				return nil, bad("%v", err)
			}
			if i < 0 || i > 1e15 {
				return nil, bad("index %d out of range", i)
			}
			p = append(p, Index(int(i)))
		default:
			return nil, bad("path element is not a string or an index")
		}
	}
	return p, nil
}

// MarshalPatchesMsgpack encodes patches as a msgpack array of patch maps.
func MarshalPatchesMsgpack(patches []Patch) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := enc.EncodeArrayLen(len(patches)); err != nil {
		return nil, err
	}
	for i := range patches {
		if err := patches[i].EncodeMsgpack(enc); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// UnmarshalPatchesMsgpack decodes what MarshalPatchesMsgpack encodes. It
// checks every length against the input size before allocating, rejects
// trailing bytes, and never panics on malformed input. Errors unwrap to
// ErrBadPatch or ErrBadPointer.
func UnmarshalPatchesMsgpack(data []byte) ([]Patch, error) {
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	c, err := dec.PeekCode()
	if err != nil {
		return nil, fmt.Errorf("%w: msgpack: %v", ErrBadPatch, err)
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return nil, fmt.Errorf("%w: msgpack: patch list is not an array", ErrBadPatch)
	}
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 || n > len(data) {
		return nil, fmt.Errorf("%w: msgpack: bad patch list length", ErrBadPatch)
	}
	out := make([]Patch, 0, min(n, 1024))
	for i := range n {
		p, err := decodePatchMsgpack(dec, len(data))
		if err != nil {
			return nil, &PatchError{Index: i, Err: err}
		}
		out = append(out, p)
	}
	if r.Len() > 0 {
		return nil, fmt.Errorf("%w: msgpack: %d trailing bytes", ErrBadPatch, r.Len())
	}
	return out, nil
}
