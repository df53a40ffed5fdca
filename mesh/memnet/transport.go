package memnet

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Transport is one node's memberlist transport on a Network. Set it as
// memberlist.Config.Transport. It is safe for concurrent use. No method
// blocks: writes are queued or dropped, dials succeed or fail at once.
// Packet buffers passed to WriteTo are copied, so the caller may reuse them;
// each received Packet.Buf belongs to the receiver. Packet.From is shared by
// every packet from the same sender and must not be modified.
type Transport struct {
	net      *Network
	name     string
	addr     netip.AddrPort
	udpAddr  *net.UDPAddr // Packet.From of packets sent by this node
	tcpAddr  *net.TCPAddr // stream end addresses
	stats    *counters
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn

	// closed is written with both net.mu and mu held, so either lock
	// suffices to read it.
	mu     sync.Mutex
	closed bool
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Name returns the node name given to NewTransport.
func (t *Transport) Name() string { return t.name }

// Addr returns the node's address, "IP:port", suitable for
// memberlist.Memberlist.Join.
func (t *Transport) Addr() string { return t.addr.String() }

// FinalAdvertiseAddr returns the transport's own address. The configured
// ip and port are ignored: memnet routes by the address it assigned, so
// advertising anything else would make the node unreachable.
func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IP(t.addr.Addr().AsSlice()), int(t.addr.Port()), nil
}

// WriteTo sends a packet to addr; see WriteToAddress.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends a copy of b to a.Addr (a.Name is ignored; routing is
// by address) subject to the link's faults and partitions. It never blocks.
// Like UDP it reports no error for a packet that is lost, partitioned,
// oversize, unroutable or sent to a dead node; those are only counted in
// Stats. It returns an error for an unparseable address, or ErrClosed if
// this transport is shut down.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ap, err := parseAddr(a.Addr)
	if err != nil {
		return time.Now(), err
	}
	n := t.net
	t.stats.sent.Add(1)
	t.stats.bytesSent.Add(uint64(len(b)))
	var delays [2]time.Duration
	n.mu.Lock()
	dest, copies, reason := n.planLocked(t, ap, len(b), &delays)
	selfClosed := t.closed
	n.mu.Unlock()
	if copies == 0 {
		to := a.Addr
		if dest != nil {
			to = dest.name
		}
		n.dropped(t, to, reason)
		if selfClosed {
			return time.Now(), ErrClosed
		}
		return time.Now(), nil
	}
	if copies == 2 {
		t.stats.duplicated.Add(1)
	}
	for i := range copies {
		f := &flight{from: t, to: dest, buf: bytes.Clone(b)}
		switch {
		case delays[i] == 0:
			n.deliver(f, false)
		case !n.sched.push(f, delays[i]):
			n.dropped(t, dest.name, dropClosed)
		}
	}
	return time.Now(), nil
}

// PacketCh returns the inbound packet queue (capacity
// Config.PacketQueueLen). It is never closed.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// StreamCh returns the inbound stream queue (capacity
// Config.StreamQueueLen). It is never closed.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// DialTimeout opens a stream to addr; see DialAddressTimeout.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a stream to a.Addr and queues the other end on
// the target's StreamCh. It never waits, so it always returns within
// timeout: it fails at once with a *DialError if either node is shut down,
// the address is unknown, the nodes are partitioned in either direction, or
// the target's stream queue is full. The returned net.Conn is synchronous
// (a Write completes when the peer reads it) and supports deadlines.
func (t *Transport) DialAddressTimeout(a memberlist.Address, _ time.Duration) (net.Conn, error) {
	ap, err := parseAddr(a.Addr)
	if err != nil {
		t.stats.streamsRefused.Add(1)
		return nil, err
	}
	n := t.net
	refuse := func(why error) (net.Conn, error) {
		t.stats.streamsRefused.Add(1)
		return nil, &DialError{From: t.name, To: a.Addr, Err: why}
	}
	n.mu.Lock()
	dest := n.byAddr[ap]
	var why error
	switch {
	case n.closed || t.closed:
		why = ErrClosed
	case dest == nil:
		why = ErrNoRoute
	case dest.closed:
		why = ErrClosed
	case n.parts.cutEither(t.name, dest.name):
		why = ErrPartitioned
	}
	if why != nil {
		n.mu.Unlock()
		return refuse(why)
	}
	s := newStream(n, t, dest)
	n.streams[s] = struct{}{}
	n.mu.Unlock()
	if why := dest.offerStream(s.listenEnd); why != nil {
		n.forgetStream(s)
		s.closeEnds()
		return refuse(why)
	}
	t.stats.streamsOpened.Add(1)
	dest.stats.streamsAccepted.Add(1)
	return s.dialEnd, nil
}

// Shutdown stops the node: later packets to it are dropped, packets it
// still had in flight are dropped, dials to and from it fail, and its open
// streams are closed. PacketCh and StreamCh stay open (memberlist may still
// be selecting on them). Shutdown is idempotent and never blocks for long.
func (t *Transport) Shutdown() error {
	n := t.net
	n.mu.Lock()
	if t.closed {
		n.mu.Unlock()
		return nil
	}
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	cut := n.takeStreamsLocked(func(s *stream) bool { return s.dialer == t || s.listener == t })
	n.mu.Unlock()
	closeStreams(cut)
	pending := n.sched.removeTo(t)
	for _, f := range pending {
		n.dropped(f.from, t.name, dropClosed)
	}
	n.sched.settle(len(pending))
	n.log.Info("node shut down", "node", t.name, "addr", t.addr.String(), "streams_cut", len(cut))
	return nil
}

// enqueue puts a packet on t's PacketCh without blocking.
func (t *Transport) enqueue(buf []byte, from net.Addr) (dropReason, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return dropClosed, false
	}
	select {
	case t.packetCh <- &memberlist.Packet{Buf: buf, From: from, Timestamp: time.Now()}:
		return 0, true
	default:
		return dropQueueFull, false
	}
}

// offerStream puts a stream end on t's StreamCh without blocking.
func (t *Transport) offerStream(c net.Conn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	select {
	case t.streamCh <- c:
		return nil
	default:
		return ErrBacklogFull
	}
}

// parseAddr parses a literal "IP:port".
func parseAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
