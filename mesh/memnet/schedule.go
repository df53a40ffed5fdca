package memnet

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// flight is one packet copy on its way.
type flight struct {
	at       time.Time
	seq      uint64
	from, to *Transport
	buf      []byte
}

// flightHeap orders flights by due time, then by send order, so copies with
// equal delay keep their order.
type flightHeap []*flight

func (h flightHeap) Len() int { return len(h) }
func (h flightHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h flightHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *flightHeap) Push(x any)   { *h = append(*h, x.(*flight)) }
func (h *flightHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}

// scheduler delivers delayed copies. It runs one goroutine only while
// copies are pending, so a network with no delayed traffic has no
// goroutine, and close waits for the goroutine to exit.
type scheduler struct {
	n    *Network
	wake chan struct{} // cap 1: the earliest due time changed
	quit chan struct{} // closed by close
	wg   sync.WaitGroup
	// pending counts copies accepted by push and not yet delivered or
	// dropped; unlike len(q) it includes copies being delivered right now.
	pending atomic.Int64

	mu      sync.Mutex // guards everything below
	q       flightHeap
	seq     uint64
	running bool
	closed  bool
}

func newScheduler(n *Network) *scheduler {
	return &scheduler{n: n, wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

// push schedules f after delay. It returns false if the scheduler is
// closed; the caller then drops f.
func (s *scheduler) push(f *flight, delay time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	f.at = time.Now().Add(delay)
	f.seq = s.seq
	s.seq++
	heap.Push(&s.q, f)
	s.pending.Add(1)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.loop()
	} else if s.q[0] == f {
		s.poke()
	}
	return true
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*flight
	for {
		s.mu.Lock()
		if s.closed || len(s.q) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		now := time.Now()
		due = due[:0]
		for len(s.q) > 0 && !s.q[0].at.After(now) {
			due = append(due, heap.Pop(&s.q).(*flight))
		}
		var wait time.Duration
		if len(s.q) > 0 {
			wait = s.q[0].at.Sub(now)
		}
		s.mu.Unlock()
		if len(due) > 0 {
			for i, f := range due {
				s.n.deliver(f, true)
				s.pending.Add(-1)
				due[i] = nil
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
			timer.Stop()
		case <-s.quit:
			return
		}
	}
}

// removeTo takes every pending copy addressed to t out of the queue and
// returns them; the caller must count each as dropped and then call
// settle(len(result)).
func (s *scheduler) removeTo(t *Transport) []*flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*flight
	kept := s.q[:0]
	for _, f := range s.q {
		if f.to == t {
			out = append(out, f)
		} else {
			kept = append(kept, f)
		}
	}
	clear(s.q[len(kept):])
	s.q = kept
	heap.Init(&s.q)
	if len(out) > 0 {
		s.poke() // lets an idle loop notice an empty queue and exit
	}
	return out
}

// close stops the goroutine, waits for it and returns the copies that were
// still pending; the caller must count each as dropped and then call
// settle(len(result)).
func (s *scheduler) close() []*flight {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	out := []*flight(s.q)
	s.q = nil
	s.mu.Unlock()
	close(s.quit)
	s.wg.Wait()
	return out
}

// settle marks k copies taken by removeTo or close as dropped.
func (s *scheduler) settle(k int) { s.pending.Add(int64(-k)) }

// inFlight is the number of copies not yet delivered or dropped.
func (s *scheduler) inFlight() int { return int(s.pending.Load()) }
