package seq

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/syncmesh/syncmesh/clock"
)

// Encoding, version 1. Slots are listed in ascending ID order (not list
// order), which makes their ids cheap to write; list order is rebuilt from the
// Fugue tree. All integers are unsigned varints unless noted.
//
//	version                      byte, 1
//	replicas R                   then R replica ids: the first as is, then
//	                             the (positive) difference to the previous one
//	per replica, ascending:      runs K >= 1, then K pairs (gap, len-1): a run
//	                             of consecutive seqs start..start+len-1 with
//	                             start = previous run's end + gap + 1 (end 0
//	                             before the first run)
//	visibility runs V            then V run lengths, alternately visible and
//	                             hidden, starting with visible; only the first
//	                             may be 0; they add up to the slot count n
//	tree                         bit-packed, least significant bit first, to
//	                             the end of the input: per slot, 1 bit side
//	                             (1 = right child) and w = bits.Len(n) bits
//	                             parent (0 = head, k = the k-th slot in this
//	                             order, from 1); padding bits are 0
//
// The first three sections are a few bytes for a list typed by few replicas;
// the tree costs (1+w) bits per slot, which for n slots inserted at random
// positions is close to the log2(n!) bits such a history carries.
const encodingVersion = 1

// maxSlots bounds the slot count of a list (counts and links are int32).
const maxSlots = 1 << 30

// AppendEncode appends the encoding of l to dst and returns the extended
// slice. Equal lists encode to equal bytes.
func (l *List) AppendEncode(dst []byte) []byte {
	ns := &l.n
	sorted := l.ids.appendValues(make([]int32, 0, l.ids.Len()))
	rankOf := make([]uint64, ns.len) // by node index; the head's is 0
	for k, x := range sorted {
		rankOf[x] = uint64(k + 1)
	}
	idAt := func(k int) ID { return ns.at(sorted[k]).id }

	dst = append(dst, encodingVersion)
	// Replica table.
	var replicas int
	for k := range sorted {
		if k == 0 || idAt(k).Replica != idAt(k-1).Replica {
			replicas++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(replicas))
	for k := range sorted {
		switch {
		case k == 0:
			dst = binary.AppendUvarint(dst, uint64(idAt(k).Replica))
		case idAt(k).Replica != idAt(k-1).Replica:
			dst = binary.AppendUvarint(dst, uint64(idAt(k).Replica-idAt(k-1).Replica))
		}
	}
	// Seq runs per replica.
	for start := 0; start < len(sorted); {
		end := start + 1
		for end < len(sorted) && idAt(end).Replica == idAt(start).Replica {
			end++
		}
		runs := 1
		for k := start + 1; k < end; k++ {
			if idAt(k).Seq != idAt(k-1).Seq+1 {
				runs++
			}
		}
		dst = binary.AppendUvarint(dst, uint64(runs))
		prevEnd := uint64(0)
		for k := start; k < end; {
			j := k + 1
			for j < end && idAt(j).Seq == idAt(j-1).Seq+1 {
				j++
			}
			dst = binary.AppendUvarint(dst, idAt(k).Seq-prevEnd-1)
			dst = binary.AppendUvarint(dst, uint64(j-k-1))
			prevEnd = idAt(j - 1).Seq
			k = j
		}
		start = end
	}
	// Visibility runs.
	var lens []uint64
	vis, run := true, uint64(0)
	for _, x := range sorted {
		if ns.at(x).vis != vis {
			lens = append(lens, run)
			vis, run = ns.at(x).vis, 0
		}
		run++
	}
	if len(sorted) > 0 {
		lens = append(lens, run)
	}
	dst = binary.AppendUvarint(dst, uint64(len(lens)))
	for _, r := range lens {
		dst = binary.AppendUvarint(dst, r)
	}
	// Tree.
	w := uint(bits.Len(uint(len(sorted))))
	bw := bitWriter{buf: dst}
	for _, x := range sorted {
		bw.write(uint64(ns.at(x).side), 1)
		bw.write(rankOf[ns.at(x).parent], w)
	}
	return bw.flush()
}

// bitWriter packs values least significant bit first.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

// write appends the low n bits of v; n <= 32.
func (b *bitWriter) write(v uint64, n uint) {
	b.acc |= v << b.nacc
	b.nacc += n
	for b.nacc >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.nacc -= 8
	}
}

func (b *bitWriter) flush() []byte {
	if b.nacc > 0 {
		b.buf = append(b.buf, byte(b.acc))
	}
	return b.buf
}

// decoder reads minimal varints from b, recording the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.err = corrupt("bad varint for " + what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count that must be at most limit.
func (d *decoder) count(what string, limit uint64) int {
	v := d.uvarint(what)
	if d.err == nil && v > limit {
		d.err = corrupt(what + " exceeds the remaining input")
	}
	if d.err != nil {
		return 0
	}
	return int(v)
}

type seqRun struct {
	replica    uint64
	start, len uint64
}

// Decode parses an encoding made by AppendEncode. It checks every count
// against the remaining input before allocating, and the tree for bad
// references and cycles; malformed input gives an error wrapping ErrCorrupt
// (or ErrVersion), never a panic.
func Decode(b []byte) (*List, error) {
	if len(b) == 0 {
		return nil, corrupt("empty input")
	}
	if b[0] != encodingVersion {
		return nil, ErrVersion
	}
	d := &decoder{b: b[1:]}
	nrep := d.count("replica count", uint64(len(d.b)))
	replicas := make([]uint64, 0, nrep)
	for i := range nrep {
		v := d.uvarint("replica id")
		if i > 0 {
			if v == 0 || v > ^uint64(0)-replicas[i-1] {
				d.err = corrupt("replica ids not ascending")
			}
			v += replicas[i-1]
		}
		replicas = append(replicas, v)
	}
	var runs []seqRun
	var n uint64
	for _, r := range replicas {
		k := d.count("run count", uint64(len(d.b)/2))
		if d.err == nil && k == 0 {
			d.err = corrupt("replica without slots")
		}
		prevEnd := uint64(0)
		for range k {
			gap, ln := d.uvarint("seq gap"), d.uvarint("run length")
			if d.err != nil {
				return nil, d.err
			}
			if gap >= ^uint64(0)-prevEnd || ln >= ^uint64(0)-(prevEnd+gap+1) || ln >= maxSlots-n {
				return nil, corrupt("seq run out of range")
			}
			start := prevEnd + gap + 1
			runs = append(runs, seqRun{r, start, ln + 1})
			prevEnd = start + ln
			n += ln + 1
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	w := uint(bits.Len64(n))
	treeBytes := (n*uint64(w+1) + 7) / 8
	if uint64(len(d.b)) < treeBytes+1 {
		return nil, corrupt("slot count exceeds the remaining input")
	}
	// Visibility runs.
	vr := d.count("visibility run count", min(n+1, uint64(len(d.b))))
	vis := make([]uint64, 0, vr)
	var total uint64
	for i := range vr {
		v := d.uvarint("visibility run")
		if d.err == nil && ((v == 0 && (i > 0 || vr == 1)) || v > n-total) {
			d.err = corrupt("visibility runs do not add up")
		}
		total += v
		vis = append(vis, v)
	}
	if d.err != nil {
		return nil, d.err
	}
	if total != n {
		return nil, corrupt("visibility runs do not add up")
	}
	if uint64(len(d.b)) != treeBytes {
		return nil, corrupt("tree section has the wrong length")
	}

	// Slots, in ascending id order: slot k (from 1) is node k+1.
	l := &List{n: newNodeStore(int32(n+2), int32(n+2)), ids: NewIDMap[int32](int(n))}
	ns := &l.n
	x := headNode + 1
	for _, r := range runs {
		for s := r.start; s < r.start+r.len; s++ {
			id := ID{Replica: clock.ReplicaID(r.replica), Seq: s}
			ns.at(x).id = id
			l.ids.Set(id, x)
			x++
		}
	}
	x = headNode + 1
	visible := true
	for _, v := range vis {
		for range v {
			ns.at(x).vis = visible
			x++
		}
		visible = !visible
	}
	// Tree: parents and sides; siblings are linked in ascending id order by
	// walking the slots backwards and prepending.
	br := bitReader{b: d.b}
	for k := uint64(1); k <= n; k++ {
		x := int32(k) + headNode
		ns.at(x).side = uint8(br.read(1))
		p := br.read(w)
		if p > n || p == k || (p == 0 && ns.at(x).side == sideLeft) {
			return nil, corrupt("bad parent reference")
		}
		ns.at(x).parent = int32(p) + headNode
	}
	if br.rest() != 0 {
		return nil, corrupt("nonzero padding")
	}
	for x := int32(n) + headNode; x > headNode; x-- {
		p, s := ns.at(x).parent, ns.at(x).side
		ns.at(x).sib = ns.at(p).kids[s]
		ns.at(p).kids[s] = x
	}
	order := l.fugueOrder(int(n) + 1)
	if len(order) != int(n)+1 {
		return nil, corrupt("tree has a cycle")
	}
	l.buildOrder(order)
	return l, nil
}

// fugueOrder returns the in-order walk of the Fugue tree (head first),
// visiting at most limit nodes.
func (l *List) fugueOrder(limit int) []int32 {
	ns := &l.n
	type item struct {
		n    int32
		emit bool
	}
	order := make([]int32, 0, limit)
	stack := []item{{headNode, false}}
	for len(stack) > 0 && len(order) < limit {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.emit {
			order = append(order, it.n)
			continue
		}
		// Push right children, the node, then left children, each side in
		// reverse so that they pop in ascending order.
		for side := sideRight; side >= sideLeft; side-- {
			from := len(stack)
			for c := ns.at(it.n).kids[side]; c != nilNode; c = ns.at(c).sib {
				stack = append(stack, item{c, false})
			}
			slices.Reverse(stack[from:])
			if side == sideRight {
				stack = append(stack, item{it.n, true})
			}
		}
	}
	return order
}

// bitReader reads values packed by bitWriter; reads past the end give zeros
// (the caller checked the length).
type bitReader struct {
	b    []byte
	acc  uint64
	nacc uint
}

func (r *bitReader) read(n uint) uint64 {
	for r.nacc < n {
		var c byte
		if len(r.b) > 0 {
			c, r.b = r.b[0], r.b[1:]
		}
		r.acc |= uint64(c) << r.nacc
		r.nacc += 8
	}
	v := r.acc & (1<<n - 1)
	r.acc >>= n
	r.nacc -= n
	return v
}

// rest returns the unread bits of the current byte.
func (r *bitReader) rest() uint64 { return r.acc }
