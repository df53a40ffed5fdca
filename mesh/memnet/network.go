package memnet

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"

	"github.com/hashicorp/memberlist"
)

// port is the port of every memnet address; nodes differ by IP.
const port = 7946

// link is a directed pair of node names.
type link struct{ from, to string }

// Network is an in-memory network of memberlist transports with injectable
// faults. It is safe for concurrent use. Create it with New and release it
// with Close, which shuts down every transport and stops the goroutine that
// delivers delayed packets.
type Network struct {
	cfg   Config
	log   *slog.Logger
	sched *scheduler

	mu       sync.Mutex // guards everything below
	closed   bool
	rng      *rand.Rand
	nextIP   uint32
	byAddr   map[netip.AddrPort]*Transport
	byName   map[string]*Transport // the latest transport of each name
	counters map[string]*counters  // per name, kept across restarts
	faults   LinkFaults
	perLink  map[link]LinkFaults
	badState map[link]bool // Gilbert–Elliott state per directed link
	parts    partitions
	streams  map[*stream]struct{}
}

// New validates cfg and returns an empty Network.
func New(cfg Config) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Network{
		cfg:      cfg,
		log:      logger.With("component", "memnet"),
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		byAddr:   make(map[netip.AddrPort]*Transport),
		byName:   make(map[string]*Transport),
		counters: make(map[string]*counters),
		faults:   cfg.Faults,
		perLink:  make(map[link]LinkFaults),
		badState: make(map[link]bool),
		streams:  make(map[*stream]struct{}),
	}
	n.parts.reset()
	n.sched = newScheduler(n)
	return n, nil
}

// NewTransport creates the transport of a new node called name, with its own
// address in 10.0.0.0/8 and port 7946 (for example "10.0.0.1:7946"). A name
// may be reused once its previous transport is shut down (a restarted node);
// the new transport gets a fresh address and keeps the name's counters,
// partitions and link faults.
func (n *Network) NewTransport(name string) (*Transport, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty node name", ErrInvalidConfig)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if old := n.byName[name]; old != nil && !old.closed {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	if n.nextIP >= 1<<24-2 {
		return nil, fmt.Errorf("memnet: address space exhausted")
	}
	n.nextIP++
	i := n.nextIP
	ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	ap := netip.AddrPortFrom(ip, port)
	c := n.counters[name]
	if c == nil {
		c = new(counters)
		n.counters[name] = c
	}
	t := &Transport{
		net:      n,
		name:     name,
		addr:     ap,
		udpAddr:  net.UDPAddrFromAddrPort(ap),
		tcpAddr:  net.TCPAddrFromAddrPort(ap),
		stats:    c,
		packetCh: make(chan *memberlist.Packet, n.cfg.PacketQueueLen),
		streamCh: make(chan net.Conn, n.cfg.StreamQueueLen),
	}
	n.byAddr[ap] = t
	n.byName[name] = t
	n.log.Info("node added", "node", name, "addr", ap.String())
	return t, nil
}

// Close shuts down every transport, drops every packet in flight (counted as
// Drops.Closed) and waits for the delivery goroutine to exit. Later
// NewTransport calls fail with ErrClosed. Close is idempotent.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	ts := make([]*Transport, 0, len(n.byName))
	for _, t := range n.byName {
		ts = append(ts, t)
	}
	n.mu.Unlock()
	for _, t := range ts {
		_ = t.Shutdown()
	}
	pending := n.sched.close()
	for _, f := range pending {
		n.dropped(f.from, f.to.name, dropClosed)
	}
	n.sched.settle(len(pending))
	n.log.Info("network closed")
	return nil
}

// SetFaults replaces the faults of every link that has no per-link override.
func (n *Network) SetFaults(f LinkFaults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
	n.log.Info("default faults set", "faults", fmt.Sprintf("%+v", f))
	return nil
}

// SetLinkFaults overrides the faults of the directed link from→to (node
// names; the nodes need not exist yet). The override replaces the defaults
// entirely, and restarts the link's Gilbert–Elliott state in "good".
func (n *Network) SetLinkFaults(from, to string, f LinkFaults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	l := link{from, to}
	n.mu.Lock()
	n.perLink[l] = f
	delete(n.badState, l)
	n.mu.Unlock()
	n.log.Info("link faults set", "from", from, "to", to, "faults", fmt.Sprintf("%+v", f))
	return nil
}

// ClearLinkFaults removes the override of from→to, so the link follows the
// defaults again.
func (n *Network) ClearLinkFaults(from, to string) {
	l := link{from, to}
	n.mu.Lock()
	delete(n.perLink, l)
	delete(n.badState, l)
	n.mu.Unlock()
	n.log.Info("link faults cleared", "from", from, "to", to)
}

// Addr returns the address of the latest transport named name.
func (n *Network) Addr(name string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.byName[name]
	if t == nil {
		return "", false
	}
	return t.addr.String(), true
}

// logDrop records a dropped packet copy at Debug level.
func (n *Network) logDrop(from string, to string, reason dropReason) {
	if !n.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	n.log.Debug("packet dropped", "from", from, "to", to, "reason", reason.String())
}
