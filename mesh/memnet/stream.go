package memnet

import "net"

// stream is one open connection between two transports.
type stream struct {
	net              *Network
	dialer, listener *Transport
	dialEnd          *streamConn
	listenEnd        *streamConn
}

// streamConn is one end of a stream: a net.Pipe end (synchronous, with
// deadline support) that reports memnet addresses and unregisters the
// stream when closed. It is safe for concurrent use as net.Conn requires.
type streamConn struct {
	net.Conn
	s             *stream
	local, remote net.Addr
}

var _ net.Conn = (*streamConn)(nil)

// LocalAddr returns the owning node's address as a *net.TCPAddr.
func (c *streamConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer node's address as a *net.TCPAddr.
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

// Close closes this end; the peer's reads then return io.EOF.
func (c *streamConn) Close() error {
	c.s.net.forgetStream(c.s)
	return c.Conn.Close()
}

func newStream(n *Network, dialer, listener *Transport) *stream {
	a, b := net.Pipe()
	s := &stream{net: n, dialer: dialer, listener: listener}
	s.dialEnd = &streamConn{Conn: a, s: s, local: dialer.tcpAddr, remote: listener.tcpAddr}
	s.listenEnd = &streamConn{Conn: b, s: s, local: listener.tcpAddr, remote: dialer.tcpAddr}
	return s
}

// closeEnds closes both pipe ends, so every pending and later Read or Write
// on either end fails.
func (s *stream) closeEnds() {
	_ = s.dialEnd.Conn.Close()
	_ = s.listenEnd.Conn.Close()
}

func (n *Network) forgetStream(s *stream) {
	n.mu.Lock()
	delete(n.streams, s)
	n.mu.Unlock()
}

// takeStreamsLocked unregisters and returns the streams matching match.
// n.mu must be held.
func (n *Network) takeStreamsLocked(match func(*stream) bool) []*stream {
	var out []*stream
	for s := range n.streams {
		if match(s) {
			delete(n.streams, s)
			out = append(out, s)
		}
	}
	return out
}

// closeStreams closes streams taken by takeStreamsLocked and counts them as
// cut on the dialling side.
func closeStreams(ss []*stream) {
	for _, s := range ss {
		s.closeEnds()
		s.dialer.stats.streamsCut.Add(1)
	}
}
