package clock

import (
	"encoding/binary"
	"fmt"
)

// EncodedLen is the length of the binary encoding of a Timestamp: 6 bytes of
// Wall, 2 bytes of Logical and 8 bytes of Replica, each big-endian, so that
// bytes.Compare on encodings agrees with Timestamp.Compare.
const EncodedLen = 16

// TextLen is the length of the text form of a Timestamp:
// 12 hex digits of Wall, '.', 4 hex digits of Logical, '.', 16 hex digits of
// Replica, all lowercase, for example "0195a3b2c4d5.0000.00000000000000ab".
// Every field has a fixed width, so string order agrees with
// Timestamp.Compare.
const TextLen = 12 + 1 + 4 + 1 + 16

// Encode returns the 16-byte order-preserving encoding of t.
// It panics if t is not valid (Wall outside [0, MaxWall]): such a Timestamp
// never comes from Clock, Decode or Parse, and encoding it would silently
// change its value.
func (t Timestamp) Encode() [EncodedLen]byte {
	var b [EncodedLen]byte
	t.put(b[:])
	return b
}

// AppendEncode appends the 16-byte encoding of t to dst and returns the
// extended slice. It allocates only if dst lacks capacity. It panics if t is
// not valid, like Encode.
func (t Timestamp) AppendEncode(dst []byte) []byte {
	t.mustBeValid()
	dst = binary.BigEndian.AppendUint64(dst, t.packed())
	return binary.BigEndian.AppendUint64(dst, uint64(t.Replica))
}

// put writes the encoding of t into b[:EncodedLen].
func (t Timestamp) put(b []byte) {
	t.mustBeValid()
	binary.BigEndian.PutUint64(b[0:8], t.packed())
	binary.BigEndian.PutUint64(b[8:16], uint64(t.Replica))
}

// mustBeValid panics if t cannot be encoded without changing its value.
func (t Timestamp) mustBeValid() {
	if t.Wall < 0 || t.Wall > MaxWall {
		panic(fmt.Sprintf("clock: encoding an invalid timestamp (wall %d outside [0, %d])", t.Wall, int64(MaxWall)))
	}
}

// Decode decodes the 16-byte encoding written by Encode. It returns an error
// wrapping ErrMalformed if len(b) != EncodedLen. Every 16-byte input decodes
// to a valid Timestamp, and Encode gives back exactly the same bytes.
// Decode does not retain b.
func Decode(b []byte) (Timestamp, error) {
	if len(b) != EncodedLen {
		return Timestamp{}, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), EncodedLen)
	}
	t := unpack(binary.BigEndian.Uint64(b[0:8]), ReplicaID(binary.BigEndian.Uint64(b[8:16])))
	return t, nil
}

// String returns the fixed-width text form described at TextLen. For an
// invalid Timestamp, which has no text form, it returns a diagnostic that
// Parse rejects.
func (t Timestamp) String() string {
	if t.Validate() != nil {
		return fmt.Sprintf("invalid(%d.%04x.%016x)", t.Wall, t.Logical, uint64(t.Replica))
	}
	var b [TextLen]byte
	return string(t.appendText(b[:0]))
}

// AppendText appends the text form of t to dst (encoding.TextAppender).
// It returns an error wrapping ErrMalformed if t is not valid.
func (t Timestamp) AppendText(dst []byte) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return dst, err
	}
	return t.appendText(dst), nil
}

// MarshalText returns the text form of t (encoding.TextMarshaler). It returns
// an error wrapping ErrMalformed if t is not valid.
func (t Timestamp) MarshalText() ([]byte, error) {
	return t.AppendText(make([]byte, 0, TextLen))
}

// UnmarshalText parses the text form into t (encoding.TextUnmarshaler), with
// the same rules as Parse. On error t is unchanged.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (t Timestamp) appendText(dst []byte) []byte {
	dst = appendHex(dst, uint64(t.Wall), 12)
	dst = append(dst, '.')
	dst = appendHex(dst, uint64(t.Logical), 4)
	dst = append(dst, '.')
	return appendHex(dst, uint64(t.Replica), 16)
}

// Parse parses the text form written by String. It is strict: the input must
// be exactly TextLen bytes, with '.' at offsets 12 and 17 and lowercase hex
// digits everywhere else, so that String(Parse(s)) == s. Anything else
// returns an error wrapping ErrMalformed.
func Parse(s string) (Timestamp, error) {
	if len(s) != TextLen {
		return Timestamp{}, fmt.Errorf("%w: text of %d bytes, want %d", ErrMalformed, len(s), TextLen)
	}
	if s[12] != '.' || s[17] != '.' {
		return Timestamp{}, fmt.Errorf("%w: %q lacks '.' separators at offsets 12 and 17", ErrMalformed, s)
	}
	wall, ok1 := parseHex(s[:12])
	logical, ok2 := parseHex(s[13:17])
	replica, ok3 := parseHex(s[18:])
	if !ok1 || !ok2 || !ok3 {
		return Timestamp{}, fmt.Errorf("%w: %q has a character that is not a lowercase hex digit", ErrMalformed, s)
	}
	return Timestamp{Wall: int64(wall), Logical: uint16(logical), Replica: ReplicaID(replica)}, nil
}

const hexDigits = "0123456789abcdef"

// appendHex appends the low 4*width bits of v as exactly width lowercase hex
// digits.
func appendHex(dst []byte, v uint64, width int) []byte {
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(v>>uint(shift))&0xf])
	}
	return dst
}

// parseHex parses up to 16 lowercase hex digits; ok is false for any other
// byte or an empty or over-long s.
func parseHex(s string) (v uint64, ok bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}
