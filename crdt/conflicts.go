package crdt

import (
	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/draft"
)

// Conflict is one of several concurrent values of a register. A plain,
// immutable value.
type Conflict struct {
	// Value is the value written (a container is shown with its current
	// contents; a counter's value is its sum).
	Value draft.Value
	// Timestamp and ID identify the write (for a counter, its newest live
	// increment; for a container, its newest marker). A container that is
	// alive only because of concurrent edits inside it (its own write was
	// deleted) has the zero Timestamp and ID.
	Timestamp clock.Timestamp
	ID        OpID
	// Replica is the writing replica (ID.Replica).
	Replica clock.ReplicaID
	// Winner marks the value State shows (false for all under MultiValue
	// and Custom, which show a combination).
	Winner bool
}

// Conflicts returns the concurrent values of the register at path (a path
// into State), oldest first by (timestamp, replica, sequence), when there are
// two or more that do not merge (concurrent markers of the same container
// kind merge; a counter's increments merge). It returns nil when there is no
// conflict or path does not address a value.
func (d *Doc) Conflicts(path draft.Path) []Conflict {
	n, err := d.container(path)
	if err != nil {
		return nil
	}
	s, err := d.visibleSlot(n, path[len(path)-1])
	if err != nil || s == nil {
		return nil
	}
	cs := s.candidates(nil)
	if len(cs) < 2 {
		return nil
	}
	_, win := choose(d.strategy(s), cs)
	var w cand
	if win >= 0 {
		w = cs[win]
	}
	sortCands(cs)
	out := make([]Conflict, len(cs))
	for i := range cs {
		c := &cs[i]
		out[i] = Conflict{
			Value:     d.candValue(s, c),
			Timestamp: c.ts,
			ID:        c.id,
			Replica:   c.id.Replica,
			Winner:    win >= 0 && c.id == w.id && c.ts == w.ts && c.kind == w.kind,
		}
	}
	return out
}
