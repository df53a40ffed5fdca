package draft

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MarshalJSON encodes p as an RFC 6902 operation object with members in a
// fixed order: "op", "path" (a JSON Pointer string), "from" (move, copy),
// "value" (add, replace, test) and the extension member "delta" (an
// increment's amount; RFC 6902 says other implementations ignore it).
func (p Patch) MarshalJSON() ([]byte, error) {
	if !p.Op.valid() {
		return nil, fmt.Errorf("%w: unknown op %q", ErrBadPatch, p.Op)
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"op":`...)
	b = appendJSONString(b, string(p.Op))
	b = append(b, `,"path":`...)
	b = appendJSONString(b, p.Path.String())
	if p.Op == OpMove || p.Op == OpCopy {
		b = append(b, `,"from":`...)
		b = appendJSONString(b, p.From.String())
	}
	if p.Op == OpAdd || p.Op == OpReplace || p.Op == OpTest {
		if !p.Value.IsValid() {
			return nil, fmt.Errorf("%w: %s without a value", ErrBadPatch, p.Op)
		}
		b = append(b, `,"value":`...)
		var err error
		if b, err = p.Value.appendJSON(b, 0); err != nil {
			return nil, err
		}
	}
	if p.Delta.IsValid() {
		b = append(b, `,"delta":`...)
		var err error
		if b, err = p.Delta.appendJSON(b, 0); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes an RFC 6902 operation object. "path" and "from"
// may be JSON Pointer strings or Immer-style arrays of keys (strings) and
// indices (non-negative integers). Members are validated: a known op, a
// path, "from" for move and copy, "value" for add, replace and test, and a
// numeric "delta" if present. Unknown members are ignored. Errors unwrap
// to ErrBadPatch or ErrBadPointer.
func (p *Patch) UnmarshalJSON(data []byte) error {
	var raw struct {
		Op    *string         `json:"op"`
		Path  json.RawMessage `json:"path"`
		From  json.RawMessage `json:"from"`
		Value json.RawMessage `json:"value"`
		Delta json.RawMessage `json:"delta"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPatch, err)
	}
	if raw.Op == nil || !Op(*raw.Op).valid() {
		return fmt.Errorf("%w: missing or unknown op", ErrBadPatch)
	}
	np := Patch{Op: Op(*raw.Op)}
	var err error
	if raw.Path == nil {
		return fmt.Errorf("%w: missing path", ErrBadPatch)
	}
	if np.Path, err = decodeJSONPath(raw.Path); err != nil {
		return err
	}
	if np.Op == OpMove || np.Op == OpCopy {
		if raw.From == nil {
			return fmt.Errorf("%w: %s without from", ErrBadPatch, np.Op)
		}
		if np.From, err = decodeJSONPath(raw.From); err != nil {
			return err
		}
	}
	if np.Op == OpAdd || np.Op == OpReplace || np.Op == OpTest {
		if raw.Value == nil {
			return fmt.Errorf("%w: %s without value", ErrBadPatch, np.Op)
		}
		if np.Value, err = ParseJSON(raw.Value); err != nil {
			return fmt.Errorf("%w: value: %v", ErrBadPatch, err)
		}
	}
	if raw.Delta != nil && !bytes.Equal(raw.Delta, []byte("null")) {
		d, err := ParseJSON(raw.Delta)
		if err != nil || (d.kind != IntKind && d.kind != FloatKind) {
			return fmt.Errorf("%w: delta must be a number", ErrBadPatch)
		}
		np.Delta = d
	}
	*p = np
	return nil
}

func decodeJSONPath(raw json.RawMessage) (Path, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadPointer, err)
		}
		return ParsePointer(s)
	}
	if len(raw) > 0 && raw[0] == '[' {
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadPointer, err)
		}
		p := make(Path, len(parts))
		for i, part := range parts {
			v, err := ParseJSON(part)
			if err != nil {
				return nil, fmt.Errorf("%w: path element %d: %v", ErrBadPointer, i, err)
			}
			switch v.kind {
			case StringKind:
				p[i] = Key(v.text())
			case IntKind:
				n := int64(v.num)
				if n < 0 || n > 1e15 {
					return nil, fmt.Errorf("%w: path index %d out of range", ErrBadPointer, n)
				}
				p[i] = Index(int(n))
			default:
				return nil, fmt.Errorf("%w: path element %d is not a string or index", ErrBadPointer, i)
			}
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: path must be a string or an array", ErrBadPointer)
}

// ImmerJSON encodes patches the way Immer prints them: a JSON array of
// objects whose "path" is an array of keys and indices. Use it to hand
// patches to JavaScript code that calls applyPatches.
func ImmerJSON(patches []Patch) ([]byte, error) {
	b := []byte{'['}
	for i, p := range patches {
		if i > 0 {
			b = append(b, ',')
		}
		one, err := p.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(one, &m); err != nil {
			return nil, err
		}
		b = append(b, `{"op":`...)
		b = append(b, m["op"]...)
		b = append(b, `,"path":`...)
		b = appendPathArray(b, p.Path)
		if _, ok := m["from"]; ok {
			b = append(b, `,"from":`...)
			b = appendPathArray(b, p.From)
		}
		for _, k := range []string{"value", "delta"} {
			if x, ok := m[k]; ok {
				b = append(b, `,"`+k+`":`...)
				b = append(b, x...)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

func appendPathArray(b []byte, p Path) []byte {
	b = append(b, '[')
	for i, s := range p {
		if i > 0 {
			b = append(b, ',')
		}
		if n, ok := s.AsIndex(); ok {
			b = fmt.Appendf(b, "%d", n)
		} else {
			b = appendJSONString(b, s.Token())
		}
	}
	return append(b, ']')
}
