package faultnet

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrPartitioned is returned when dialling a peer on the other side of a
// partition.
var ErrPartitioned = errors.New("faultnet: peer unreachable (partitioned)")

// Config configures a Network.
type Config struct {
	// Loss is the fraction of outgoing packets dropped, in [0, 1). Default 0.
	Loss float64
	// Seed seeds the drop decisions (PCG). Default 0, a valid seed.
	Seed uint64
	// Logger receives memberlist's transport log lines. Default: discard.
	Logger *log.Logger
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.Loss < 0 || c.Loss >= 1 {
		return fmt.Errorf("faultnet: Loss %v is outside [0, 1)", c.Loss)
	}
	return nil
}

// Network is the shared fault state of a set of transports. It is safe for
// concurrent use.
type Network struct {
	cfg Config

	mu     sync.Mutex
	rng    *rand.Rand
	groups map[string]int // address -> partition group; empty: no partition

	sent, dropped, blocked atomic.Uint64
}

// New validates cfg and returns a Network.
func New(cfg Config) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(io.Discard, "", 0)
	}
	return &Network{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}, nil
}

// Listen starts a real memberlist transport on addr (an IP) at a free port,
// wrapped with this network's faults.
func (n *Network) Listen(ip string) (*Transport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{ip}, BindPort: 0, Logger: n.cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("faultnet: listen on %s: %w", ip, err)
	}
	return &Transport{NetTransport: nt, net: n,
		addr: net.JoinHostPort(ip, strconv.Itoa(nt.GetAutoBindPort()))}, nil
}

// Partition splits the network: each argument is a group of addresses
// (host:port, as Transport.Addr returns); packets and streams between
// different groups are blocked. Addresses in no group can reach everyone.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = make(map[string]int)
	for i, g := range groups {
		for _, a := range g {
			n.groups[a] = i + 1
		}
	}
}

// Heal ends a partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = nil
}

// Stats are the network's counters.
type Stats struct {
	// Sent counts packets handed to the socket; Dropped packets lost to
	// Loss; Blocked packets and dials refused by a partition.
	Sent, Dropped, Blocked uint64
}

// Stats returns the counters.
func (n *Network) Stats() Stats {
	return Stats{Sent: n.sent.Load(), Dropped: n.dropped.Load(), Blocked: n.blocked.Load()}
}

// cut reports whether from and to are on different sides of a partition.
func (n *Network) cut(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.groups == nil {
		return false
	}
	a, b := n.groups[from], n.groups[to]
	return a != 0 && b != 0 && a != b
}

// lose decides whether one packet is lost.
func (n *Network) lose() bool {
	if n.cfg.Loss == 0 {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Float64() < n.cfg.Loss
}

// Transport is a memberlist.NodeAwareTransport over real sockets with the
// Network's faults applied to what it sends. It is safe for concurrent use
// (memberlist calls it from many goroutines).
type Transport struct {
	*memberlist.NetTransport
	net  *Network
	addr string
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Addr returns the transport's address (host:port), which memberlist also
// advertises.
func (t *Transport) Addr() string { return t.addr }

func (t *Transport) packet(b []byte, addr string, send func() (time.Time, error)) (time.Time, error) {
	if t.net.cut(t.addr, addr) {
		t.net.blocked.Add(1)
		return time.Now(), nil
	}
	if t.net.lose() {
		t.net.dropped.Add(1)
		return time.Now(), nil
	}
	t.net.sent.Add(1)
	return send()
}

// WriteTo implements memberlist.Transport.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.packet(b, addr, func() (time.Time, error) { return t.NetTransport.WriteTo(b, addr) })
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.packet(b, a.Addr, func() (time.Time, error) { return t.NetTransport.WriteToAddress(b, a) })
}

// DialTimeout implements memberlist.Transport.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.net.cut(t.addr, addr) {
		t.net.blocked.Add(1)
		return nil, fmt.Errorf("%w: %s", ErrPartitioned, addr)
	}
	return t.NetTransport.DialTimeout(addr, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.net.cut(t.addr, a.Addr) {
		t.net.blocked.Add(1)
		return nil, fmt.Errorf("%w: %s", ErrPartitioned, a.Addr)
	}
	return t.NetTransport.DialAddressTimeout(a, timeout)
}
