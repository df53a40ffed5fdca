package draft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds nesting when decoding or converting, so hostile input
// cannot exhaust the stack.
const maxDepth = 1000

// MarshalJSON encodes v as JSON with map keys in ascending order, so equal
// Values always give identical bytes. Floats always carry a '.' or an
// exponent ("1.0"), so they decode back as floats; bytes become base64
// strings (and decode back as strings); the zero Value encodes as null.
// NaN and infinities are an error (ErrBadValue).
func (v Value) MarshalJSON() ([]byte, error) {
	return v.appendJSON(nil, 0)
}

func (v Value) appendJSON(b []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrBadValue, maxDepth)
	}
	switch v.kind {
	case Invalid, NullKind:
		return append(b, "null"...), nil
	case BoolKind:
		return strconv.AppendBool(b, v.num == 1), nil
	case IntKind:
		return strconv.AppendInt(b, int64(v.num), 10), nil
	case FloatKind:
		f := math.Float64frombits(v.num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: %v cannot be encoded as JSON", ErrBadValue, f)
		}
		start := len(b)
		b = strconv.AppendFloat(b, f, 'g', -1, 64)
		if !bytes.ContainsAny(b[start:], ".eEn") {
			b = append(b, ".0"...)
		}
		return b, nil
	case StringKind:
		return appendJSONString(b, v.text()), nil
	case BytesKind:
		s, _ := json.Marshal([]byte(v.text()))
		return append(b, s...), nil
	case MapKind:
		b = append(b, '{')
		var err error
		first := true
		mapEach(v.mroot(), func(k string, x Value) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b, err = x.appendJSON(b, depth+1)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return append(b, '}'), nil
	case ListKind:
		b = append(b, '[')
		var err error
		listEach(v.lroot(), 0, func(i int, x Value) bool {
			if i > 0 {
				b = append(b, ',')
			}
			b, err = x.appendJSON(b, depth+1)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return append(b, ']'), nil
	}
	return nil, ErrBadValue
}

func appendJSONString(b []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s)
	return append(b, enc...)
}

// UnmarshalJSON decodes any JSON document into v. Integers (no '.' or
// exponent, within int64) become Int, other numbers Float; duplicate keys
// keep the last value.
func (v *Value) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after JSON value", ErrBadValue)
	}
	nv, err := fromGo(x, 0)
	if err != nil {
		return err
	}
	*v = nv
	return nil
}

// ParseJSON decodes a JSON document into a Value.
func ParseJSON(data []byte) (Value, error) {
	var v Value
	err := v.UnmarshalJSON(data)
	return v, err
}

// FromGo converts a plain Go value to a Value: nil, bool, all int and
// uint types (uint64 above MaxInt64 is an error), float32/64,
// json.Number, string, []byte, map[string]T, []T, Value, and anything
// else through its encoding/json form (so structs follow their json tags).
func FromGo(x any) (Value, error) { return fromGo(x, 0) }

func fromGo(x any, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, fmt.Errorf("%w: nesting deeper than %d", ErrBadValue, maxDepth)
	}
	switch x := x.(type) {
	case nil:
		return Null(), nil
	case Value:
		return x.orNull(), nil
	case bool:
		return Bool(x), nil
	case int:
		return Int(int64(x)), nil
	case int8:
		return Int(int64(x)), nil
	case int16:
		return Int(int64(x)), nil
	case int32:
		return Int(int64(x)), nil
	case int64:
		return Int(x), nil
	case uint:
		return fromUint(uint64(x))
	case uint8:
		return Int(int64(x)), nil
	case uint16:
		return Int(int64(x)), nil
	case uint32:
		return Int(int64(x)), nil
	case uint64:
		return fromUint(x)
	case float32:
		return Float(float64(x)), nil
	case float64:
		return Float(x), nil
	case json.Number:
		return fromNumber(string(x))
	case string:
		return String(x), nil
	case []byte:
		return Bytes(x), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		vals := make([]Value, len(keys))
		for i, k := range keys {
			v, err := fromGo(x[k], depth+1)
			if err != nil {
				return Value{}, err
			}
			vals[i] = v
		}
		return mapValue(uint64(len(keys)), mapBuild(nil, keys, vals)), nil
	case []any:
		items := make([]Value, len(x))
		for i, e := range x {
			v, err := fromGo(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			items[i] = v
		}
		return listValue(uint64(len(items)), listBuild(nil, items)), nil
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[it.Key().String()] = it.Value().Interface()
			}
			return fromGo(m, depth)
		}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return Null(), nil
		}
		s := make([]any, rv.Len())
		for i := range s {
			s[i] = rv.Index(i).Interface()
		}
		return fromGo(s, depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return Null(), nil
		}
	}
	data, err := json.Marshal(x)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	return ParseJSON(data)
}

func fromUint(u uint64) (Value, error) {
	if u > math.MaxInt64 {
		return Value{}, fmt.Errorf("%w: %d overflows int64", ErrBadValue, u)
	}
	return Int(int64(u)), nil
}

func fromNumber(s string) (Value, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%w: bad number %q", ErrBadValue, s)
	}
	return Float(f), nil
}

// ToGo converts v to plain Go values: nil (Null and the zero Value), bool,
// int64, float64, string, []byte (a copy), map[string]any, []any.
func (v Value) ToGo() any {
	switch v.kind {
	case BoolKind:
		return v.num == 1
	case IntKind:
		return int64(v.num)
	case FloatKind:
		return math.Float64frombits(v.num)
	case StringKind:
		return v.text()
	case BytesKind:
		return []byte(v.text())
	case MapKind:
		m := make(map[string]any, v.num)
		mapEach(v.mroot(), func(k string, x Value) bool { m[k] = x.ToGo(); return true })
		return m
	case ListKind:
		s := make([]any, 0, v.num)
		listEach(v.lroot(), 0, func(_ int, x Value) bool { s = append(s, x.ToGo()); return true })
		return s
	}
	return nil
}

// String returns v's JSON text (for debugging and examples); a value that
// cannot be encoded gives its error text.
func (v Value) String() string {
	b, err := v.MarshalJSON()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
