package crdt

import "sort"

// logChunk is the number of changes per chunk of a changeRun: 32 KiB of
// pointers.
const logChunk = 4096

// changeRun holds one author's logged changes in seq order, in chunks, so
// that a log that only grows is never copied to grow (a doubled slice of
// 100,000 pointers is copied about once in all, and its fresh arrays are
// first-touched twice over). The first chunk grows like a slice up to
// logChunk (doubling, from 16); every later chunk is allocated at logChunk.
// Chunks have their full length (unused tail nil). Change i (from the
// front) sits at position head+i, in chunk (head+i)/logChunk.
type changeRun struct {
	chunks [][]*Change
	head   int // position of the first change in chunks[0]
	n      int
}

func (r *changeRun) len() int { return r.n }

func (r *changeRun) at(i int) *Change {
	i += r.head
	return r.chunks[i/logChunk][i%logChunk]
}

func (r *changeRun) push(c *Change) {
	p := r.head + r.n
	k, off := p/logChunk, p%logChunk
	switch {
	case k == len(r.chunks):
		size := logChunk
		if k == 0 {
			size = 16
		}
		r.chunks = append(r.chunks, make([]*Change, size))
	case k == 0 && off == len(r.chunks[0]):
		r.chunks[0] = append(make([]*Change, 0, min(2*off, logChunk)), r.chunks[0]...)[:min(2*off, logChunk)]
	}
	// Chunks are allocated at full length: storing c is the one pointer
	// write (no slice header to store back).
	r.chunks[k][off] = c
	r.n++
}

// search returns the index of the first change whose end seq is above have
// (len when none is).
func (r *changeRun) search(have uint64) int {
	return sort.Search(r.n, func(i int) bool { return r.at(i).EndSeq() > have })
}

// appendFrom appends changes i.. to out.
func (r *changeRun) appendFrom(out []*Change, i int) []*Change {
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

// dropFront drops the first k changes, releasing their pointers (and whole
// chunks) so their memory can be freed.
func (r *changeRun) dropFront(k int) {
	if k >= r.n {
		*r = changeRun{}
		return
	}
	for j := range k {
		p := r.head + j
		r.chunks[p/logChunk][p%logChunk] = nil
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

// all yields every change in order.
func (r *changeRun) all(yield func(*Change) bool) {
	for i := range r.n {
		if !yield(r.at(i)) {
			return
		}
	}
}
