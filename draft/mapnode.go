package draft

import "sort"

// nodeMax is the fan-out of the persistent B+trees behind maps and lists:
// the most entries a leaf holds and the most children an inner node holds.
// 32 keeps trees shallow (a million keys fit in four levels) while a path
// copy stays a few kilobytes.
const nodeMax = 32

// edit is an ownership token. A tree node whose ed equals the token of the
// running edit (a live draft or an Apply call) was created by that edit and
// is not reachable from any published Value, so the edit may change it in
// place. A nil token means "persistent": every change copies. Tokens are
// never reused, so nodes of finished edits are frozen for good.
type edit struct{ _ int }

// mnode is a node of the persistent B+tree that holds a map's entries in
// sorted key order. Leaves have keys and vals; inner nodes have kids, and
// keys[i] is the smallest key in kids[i] (keys[0] may be stale-low after a
// delete; only keys[1:] steer searches).
type mnode struct {
	ed   *edit
	keys []string
	vals []Value  // leaf only
	kids []*mnode // inner only
}

func (n *mnode) leaf() bool { return n.kids == nil }

// own returns n itself when ed owns it, or a copy owned by ed.
func (n *mnode) own(ed *edit) *mnode {
	if ed != nil && n.ed == ed {
		return n
	}
	c := &mnode{ed: ed}
	c.keys = append(make([]string, 0, len(n.keys)+1), n.keys...)
	if n.leaf() {
		c.vals = append(make([]Value, 0, len(n.vals)+1), n.vals...)
	} else {
		c.kids = append(make([]*mnode, 0, len(n.kids)+1), n.kids...)
	}
	return c
}

// childFor returns the index of the child whose key range holds key.
func (n *mnode) childFor(key string) int {
	i := sort.Search(len(n.keys)-1, func(i int) bool { return n.keys[i+1] > key })
	return i
}

func (n *mnode) search(key string) (int, bool) {
	i := sort.SearchStrings(n.keys, key)
	return i, i < len(n.keys) && n.keys[i] == key
}

func mapGet(n *mnode, key string) (Value, bool) {
	for n != nil {
		if n.leaf() {
			i, ok := n.search(key)
			if !ok {
				return Value{}, false
			}
			return n.vals[i], true
		}
		n = n.kids[n.childFor(key)]
	}
	return Value{}, false
}

// mapSet sets key to v in the tree rooted at root and returns the new root
// and whether the key is new.
func mapSet(ed *edit, root *mnode, key string, v Value) (*mnode, bool) {
	if root == nil {
		return &mnode{ed: ed, keys: []string{key}, vals: []Value{v}}, true
	}
	n, split, added := mapSetNode(ed, root, key, v)
	if split != nil {
		n = &mnode{ed: ed, keys: []string{n.keys[0], split.keys[0]}, kids: []*mnode{n, split}}
	}
	return n, added
}

func mapSetNode(ed *edit, n *mnode, key string, v Value) (*mnode, *mnode, bool) {
	if n.leaf() {
		i, ok := n.search(key)
		n = n.own(ed)
		if ok {
			n.vals[i] = v
			return n, nil, false
		}
		n.keys = insertAt(n.keys, i, key)
		n.vals = insertAt(n.vals, i, v)
		if len(n.keys) <= nodeMax {
			return n, nil, true
		}
		h := len(n.keys) / 2
		r := &mnode{ed: ed,
			keys: append(make([]string, 0, nodeMax+1), n.keys[h:]...),
			vals: append(make([]Value, 0, nodeMax+1), n.vals[h:]...)}
		clear(n.vals[h:])
		n.keys, n.vals = n.keys[:h], n.vals[:h]
		return n, r, true
	}
	i := n.childFor(key)
	c, split, added := mapSetNode(ed, n.kids[i], key, v)
	n = n.own(ed)
	n.kids[i] = c
	if key < n.keys[i] {
		n.keys[i] = key
	}
	if split == nil {
		return n, nil, added
	}
	n.keys = insertAt(n.keys, i+1, split.keys[0])
	n.kids = insertAt(n.kids, i+1, split)
	if len(n.kids) <= nodeMax {
		return n, nil, added
	}
	h := len(n.kids) / 2
	r := &mnode{ed: ed,
		keys: append(make([]string, 0, nodeMax+1), n.keys[h:]...),
		kids: append(make([]*mnode, 0, nodeMax+1), n.kids[h:]...)}
	clear(n.kids[h:])
	n.keys, n.kids = n.keys[:h], n.kids[:h]
	return n, r, added
}

// mapDelete removes key and returns the new root, the old value and whether
// the key was present. Nodes that become empty are dropped; an inner root
// with one child collapses. Under-full nodes are not merged: the height
// stays bounded by the largest size the map ever had.
func mapDelete(ed *edit, root *mnode, key string) (*mnode, Value, bool) {
	if root == nil {
		return nil, Value{}, false
	}
	if _, ok := mapGet(root, key); !ok {
		return root, Value{}, false
	}
	n, old := mapDeleteNode(ed, root, key)
	for n != nil && !n.leaf() && len(n.kids) == 1 {
		n = n.kids[0]
	}
	if n != nil && len(n.keys) == 0 {
		n = nil
	}
	return n, old, true
}

// mapDeleteNode removes a key known to be present.
func mapDeleteNode(ed *edit, n *mnode, key string) (*mnode, Value) {
	n = n.own(ed)
	if n.leaf() {
		i, _ := n.search(key)
		old := n.vals[i]
		n.keys = removeAt(n.keys, i)
		n.vals = removeAt(n.vals, i)
		return n, old
	}
	i := n.childFor(key)
	c, old := mapDeleteNode(ed, n.kids[i], key)
	if len(c.keys) == 0 {
		n.keys = removeAt(n.keys, i)
		n.kids = removeAt(n.kids, i)
		return n, old
	}
	n.kids[i] = c
	n.keys[i] = c.keys[0]
	return n, old
}

// mapBuild builds a tree from entries already sorted by key with no
// duplicates, bottom-up, in O(n).
func mapBuild(ed *edit, keys []string, vals []Value) *mnode {
	if len(keys) == 0 {
		return nil
	}
	var level []*mnode
	for i := 0; i < len(keys); i += nodeMax {
		j := min(i+nodeMax, len(keys))
		level = append(level, &mnode{ed: ed,
			keys: append(make([]string, 0, j-i), keys[i:j]...),
			vals: append(make([]Value, 0, j-i), vals[i:j]...)})
	}
	for len(level) > 1 {
		var up []*mnode
		for i := 0; i < len(level); i += nodeMax {
			j := min(i+nodeMax, len(level))
			p := &mnode{ed: ed, kids: append(make([]*mnode, 0, j-i), level[i:j]...)}
			for _, k := range p.kids {
				p.keys = append(p.keys, k.keys[0])
			}
			up = append(up, p)
		}
		level = up
	}
	return level[0]
}

// mapEach calls yield for each entry in key order until it returns false.
func mapEach(n *mnode, yield func(string, Value) bool) bool {
	if n == nil {
		return true
	}
	if n.leaf() {
		for i, k := range n.keys {
			if !yield(k, n.vals[i]) {
				return false
			}
		}
		return true
	}
	for _, c := range n.kids {
		if !mapEach(c, yield) {
			return false
		}
	}
	return true
}

// mapNodeEqual compares two subtrees, skipping shared nodes, and comparing
// aligned inner nodes child by child so that two versions of a big map that
// differ in a few keys compare in time proportional to the difference.
func mapNodeEqual(a, b *mnode) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if !a.leaf() && !b.leaf() && len(a.kids) == len(b.kids) && equalStrings(a.keys[1:], b.keys[1:]) {
		for i := range a.kids {
			if !mapNodeEqual(a.kids[i], b.kids[i]) {
				return false
			}
		}
		return true
	}
	if a.leaf() && b.leaf() {
		if !equalStrings(a.keys, b.keys) {
			return false
		}
		for i := range a.vals {
			if !a.vals[i].Equal(b.vals[i]) {
				return false
			}
		}
		return true
	}
	return mapFlatEqual(a, b)
}

func mapFlatEqual(a, b *mnode) bool {
	var ks []string
	var vs []Value
	mapEach(a, func(k string, v Value) bool { ks, vs = append(ks, k), append(vs, v); return true })
	i := 0
	ok := mapEach(b, func(k string, v Value) bool {
		if i >= len(ks) || ks[i] != k || !vs[i].Equal(v) {
			return false
		}
		i++
		return true
	})
	return ok && i == len(ks)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}
