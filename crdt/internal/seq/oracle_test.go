package seq

import "slices"

// oracle is a naive Fugue: the tree as maps and slices, list order recomputed
// by a full traversal on every call. It is the reference the List is checked
// against.
type oracle struct {
	parent map[ID]ID
	side   map[ID]int
	vis    map[ID]bool
	kids   map[ID]*[2][]ID // by parent; the head is the zero ID
}

func newOracle() *oracle {
	return &oracle{parent: map[ID]ID{}, side: map[ID]int{}, vis: map[ID]bool{}, kids: map[ID]*[2][]ID{}}
}

func (o *oracle) order() []ID {
	var out []ID
	var walk func(id ID)
	walk = func(id ID) {
		k := o.kids[id]
		if k != nil {
			for _, c := range k[sideLeft] {
				walk(c)
			}
		}
		if !id.IsZero() {
			out = append(out, id)
		}
		if k != nil {
			for _, c := range k[sideRight] {
				walk(c)
			}
		}
	}
	walk(ID{})
	return out
}

func (o *oracle) visible() []ID {
	var out []ID
	for _, id := range o.order() {
		if o.vis[id] {
			out = append(out, id)
		}
	}
	return out
}

func (o *oracle) add(id, parent ID, side int) {
	o.parent[id], o.side[id], o.vis[id] = parent, side, true
	k := o.kids[parent]
	if k == nil {
		k = &[2][]ID{}
		o.kids[parent] = k
	}
	k[side] = append(k[side], id)
	slices.SortFunc(k[side], ID.Compare)
}

// insertAt follows the paper: left origin = visible slot before index, right
// origin = the slot after it in order (tombstones included).
func (o *oracle) insertAt(index int, id ID) Origins {
	leftOrigin := ID{}
	if index > 0 {
		leftOrigin = o.visible()[index-1]
	}
	if k := o.kids[leftOrigin]; k == nil || len(k[sideRight]) == 0 {
		o.add(id, leftOrigin, sideRight)
		return Origins{Left: leftOrigin}
	}
	ord := o.order()
	i := slices.Index(ord, leftOrigin) // -1 for the head
	rightOrigin := ord[i+1]
	o.add(id, rightOrigin, sideLeft)
	return Origins{Right: rightOrigin}
}

func (o *oracle) integrate(id ID, or Origins) {
	if _, ok := o.parent[id]; ok {
		return
	}
	if !or.Right.IsZero() {
		o.add(id, or.Right, sideLeft)
	} else {
		o.add(id, or.Left, sideRight)
	}
}

func (o *oracle) indexOf(id ID) int {
	n := 0
	for _, x := range o.order() {
		if x == id {
			return n
		}
		if o.vis[x] {
			n++
		}
	}
	return -1
}

type slot struct {
	ID  ID
	Vis bool
}

func (o *oracle) slots() []slot {
	var out []slot
	for _, id := range o.order() {
		out = append(out, slot{id, o.vis[id]})
	}
	return out
}

func listSlots(l *List) []slot {
	var out []slot
	for id, v := range l.All() {
		out = append(out, slot{id, v})
	}
	return out
}
