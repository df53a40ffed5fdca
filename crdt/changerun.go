package crdt

import "sort"

// logChunk is the number of items per chunk of a chunkRun: 32 KiB of
// pointers.
const logChunk = 4096

// chunkRun holds items in order, in chunks, so that a run that only grows
// is never copied to grow (a doubled slice of 100,000 items is copied
// about once in all, and its fresh arrays are first-touched twice over).
// The first chunk grows like a slice up to logChunk (doubling, from 16);
// every later chunk is allocated at logChunk. Chunks have their full
// length (unused tail zero). Item i (from the front) sits at position
// head+i, in chunk (head+i)/logChunk.
//
// The first chunk's slice header is held inline (first), the later ones
// in a list (more): most runs are short (an author's few changes in one
// Doc among thousands), and a push or read in chunk 0 then goes from the
// run straight to the chunk, with no list to read in between (on a Doc
// cold in cache that list was a miss per push, 4 s of the 10,000-node
// simulation's op-log appends), and a fresh run allocates the chunk only.
type chunkRun[T any] struct {
	first []T   // chunk 0
	n     int32 // items
	head  int32 // position of the first item in chunk 0 (below logChunk)
	more  [][]T // chunks 1.., each logChunk items
}

// changeRun holds one author's logged changes in seq order.
type changeRun struct{ chunkRun[*Change] }

func (r *chunkRun[T]) len() int { return int(r.n) }

func (r *chunkRun[T]) at(i int) T { return *r.ptr(i) }

// chunk returns chunk k.
func (r *chunkRun[T]) chunk(k int) []T {
	if k == 0 {
		return r.first
	}
	return r.more[k-1]
}

func (r *chunkRun[T]) ptr(i int) *T {
	i += int(r.head)
	if i < logChunk {
		return &r.first[i]
	}
	return &r.more[i/logChunk-1][i%logChunk]
}

// last returns the last item (there is one).
func (r *chunkRun[T]) last() *T { return r.ptr(r.len() - 1) }

func (r *chunkRun[T]) push(x T) {
	p := int(r.head + r.n)
	if p < len(r.first) {
		// Chunks are allocated at full length: storing x is the one
		// write (no slice header to store back).
		r.first[p] = x
		r.n++
		return
	}
	switch {
	case p < logChunk:
		// Chunk 0 grows (doubling, from 16, up to logChunk).
		size := min(max(2*len(r.first), 16), logChunk)
		r.first = append(make([]T, 0, size), r.first...)[:size]
		r.first[p] = x
	case p%logChunk == 0 && p/logChunk-1 == len(r.more):
		r.more = append(r.more, make([]T, logChunk))
		r.more[len(r.more)-1][0] = x
	default:
		r.more[p/logChunk-1][p%logChunk] = x
	}
	r.n++
}

// search returns the index of the first change whose end seq is above have
// (len when none is).
func (r *changeRun) search(have uint64) int {
	return sort.Search(r.len(), func(i int) bool { return r.at(i).EndSeq() > have })
}

// appendFrom appends items i.. to out.
func (r *chunkRun[T]) appendFrom(out []T, i int) []T {
	for i < r.len() {
		p := int(r.head) + i
		ch := r.chunk(p / logChunk)[p%logChunk:]
		if len(ch) > r.len()-i {
			ch = ch[:r.len()-i]
		}
		out = append(out, ch...)
		i += len(ch)
	}
	return out
}

// dropFront drops the first k items, clearing them (and releasing whole
// chunks) so that what they point to can be freed.
func (r *chunkRun[T]) dropFront(k int) {
	if k >= r.len() {
		*r = chunkRun[T]{}
		return
	}
	for j := range k {
		var zero T
		*r.ptr(j) = zero
	}
	r.head += int32(k)
	r.n -= int32(k)
	if full := int(r.head) / logChunk; full > 0 {
		// Chunks 0..full-1 are empty: chunk full becomes the first.
		r.first = r.more[full-1]
		m := copy(r.more, r.more[full:])
		clear(r.more[m:])
		r.more = r.more[:m]
		r.head -= int32(full * logChunk)
	}
}

// all yields every item in order.
func (r *chunkRun[T]) all(yield func(T) bool) {
	for i := range r.len() {
		if !yield(r.at(i)) {
			return
		}
	}
}
