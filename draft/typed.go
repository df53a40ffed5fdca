package draft

import (
	"encoding/json"
	"fmt"
)

// ProduceTyped is Produce for plain Go values (structs with json tags,
// maps, slices): recipe changes a deep copy of base in place, and the
// patches are computed by diffing the JSON forms of base and the result
// (shaped like Diff's: Immer-style, with list changes as index replaces
// plus adds/removes at the end, not intent). Paths use the json tag names.
//
// Cost: proportional to the size of the whole state, not of the change:
// it marshals base to JSON, unmarshals a copy, marshals the result and
// converts both to Values before diffing, so expect a few microseconds
// per field of state on every call. Use the tree API (Produce on a Value)
// for large or hot state; it costs O(change × depth × log width).
//
// If nothing changed, it returns base itself and no patches. Errors come
// only from JSON encoding (ErrBadValue), e.g. a channel or NaN in state.
func ProduceTyped[T any](base T, recipe func(*T)) (T, []Patch, []Patch, error) {
	data, err := json.Marshal(base)
	if err != nil {
		return base, nil, nil, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	var next T
	if err := json.Unmarshal(data, &next); err != nil {
		return base, nil, nil, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	recipe(&next)
	before, err := ParseJSON(data)
	if err != nil {
		return base, nil, nil, err
	}
	after, err := FromGo(next)
	if err != nil {
		return base, nil, nil, err
	}
	patches, inverse := Diff(before, after)
	if len(patches) == 0 {
		return base, nil, nil, nil
	}
	return next, patches, inverse, nil
}
