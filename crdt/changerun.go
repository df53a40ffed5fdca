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
type chunkRun[T any] struct {
	chunks [][]T
	head   int // position of the first item in chunks[0]
	n      int
}

// changeRun holds one author's logged changes in seq order.
type changeRun struct{ chunkRun[*Change] }

func (r *chunkRun[T]) len() int { return r.n }

func (r *chunkRun[T]) at(i int) T { return *r.ptr(i) }

func (r *chunkRun[T]) ptr(i int) *T {
	i += r.head
	return &r.chunks[i/logChunk][i%logChunk]
}

// last returns the last item (there is one).
func (r *chunkRun[T]) last() *T { return r.ptr(r.n - 1) }

func (r *chunkRun[T]) push(x T) {
	p := r.head + r.n
	k, off := p/logChunk, p%logChunk
	switch {
	case k == len(r.chunks):
		size := logChunk
		if k == 0 {
			size = 16
		}
		r.chunks = append(r.chunks, make([]T, size))
	case k == 0 && off == len(r.chunks[0]):
		r.chunks[0] = append(make([]T, 0, min(2*off, logChunk)), r.chunks[0]...)[:min(2*off, logChunk)]
	}
	// Chunks are allocated at full length: storing x is the one write (no
	// slice header to store back).
	r.chunks[k][off] = x
	r.n++
}

// search returns the index of the first change whose end seq is above have
// (len when none is).
func (r *changeRun) search(have uint64) int {
	return sort.Search(r.n, func(i int) bool { return r.at(i).EndSeq() > have })
}

// appendFrom appends items i.. to out.
func (r *chunkRun[T]) appendFrom(out []T, i int) []T {
	for i < r.n {
		p := r.head + i
		ch := r.chunks[p/logChunk][p%logChunk:]
		if len(ch) > r.n-i {
			ch = ch[:r.n-i]
		}
		out = append(out, ch...)
		i += len(ch)
	}
	return out
}

// dropFront drops the first k items, clearing them (and releasing whole
// chunks) so that what they point to can be freed.
func (r *chunkRun[T]) dropFront(k int) {
	if k >= r.n {
		*r = chunkRun[T]{}
		return
	}
	for j := range k {
		p := r.head + j
		var zero T
		r.chunks[p/logChunk][p%logChunk] = zero
	}
	r.head += k
	r.n -= k
	if full := r.head / logChunk; full > 0 {
		m := copy(r.chunks, r.chunks[full:])
		clear(r.chunks[m:])
		r.chunks = r.chunks[:m]
		r.head -= full * logChunk
	}
}

// all yields every item in order.
func (r *chunkRun[T]) all(yield func(T) bool) {
	for i := range r.n {
		if !yield(r.at(i)) {
			return
		}
	}
}
