package memnet

import (
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Distribution selects how the jitter of a link's delay is drawn. It is a
// plain value, safe to copy and share.
type Distribution uint8

const (
	// Uniform draws the jitter uniformly from [-Jitter, +Jitter]. It is the
	// zero value.
	Uniform Distribution = iota
	// Normal draws the jitter from a normal distribution with mean 0 and
	// standard deviation Jitter.
	Normal
)

// String returns "uniform" or "normal".
func (d Distribution) String() string {
	switch d {
	case Uniform:
		return "uniform"
	case Normal:
		return "normal"
	default:
		return fmt.Sprintf("Distribution(%d)", uint8(d))
	}
}

// GilbertElliott is the two-state bursty-loss model. Each directed link is in
// a good or a bad state; for every packet on the link, the packet is lost
// with the loss probability of the current state and then the state moves
// (good→bad with GoodToBad, bad→good with BadToGood). Losses therefore come
// in bursts whose mean length is about 1/BadToGood packets when LossBad is 1.
//
// The zero value disables the model. All fields are probabilities in [0, 1].
// GilbertElliott is a plain value, safe to copy and share.
type GilbertElliott struct {
	// GoodToBad is the probability, per packet, of moving from the good to
	// the bad state.
	GoodToBad float64
	// BadToGood is the probability, per packet, of moving from the bad to
	// the good state.
	BadToGood float64
	// LossGood is the loss probability while in the good state (usually 0).
	LossGood float64
	// LossBad is the loss probability while in the bad state (usually near 1).
	LossBad float64
}

// Enabled reports whether the model can lose or change state at all.
func (g GilbertElliott) Enabled() bool { return g != GilbertElliott{} }

// LinkFaults describes what happens to packets on one directed link. The
// zero value is a perfect link: no loss, no delay, no duplication. Streams
// are affected only by partitions, blocks and closed nodes, never by
// LinkFaults (they model TCP, whose retransmissions hide loss). LinkFaults
// is a plain value, safe to copy and share; the Network keeps its own copy.
type LinkFaults struct {
	// Loss is the probability in [0, 1] that a packet is dropped,
	// independently of every other packet.
	Loss float64
	// Burst adds Gilbert–Elliott bursty loss on top of Loss (a packet is
	// lost if either model loses it). The zero value disables it.
	Burst GilbertElliott
	// Delay is the base one-way latency added to every packet. Zero means
	// the packet is delivered synchronously inside WriteTo.
	Delay time.Duration
	// Jitter spreads the delay: with Uniform it is the half-width of the
	// interval, with Normal the standard deviation. The final delay is
	// clamped at 0. Jitter larger than the gap between packets reorders
	// them.
	Jitter time.Duration
	// JitterDist selects how Jitter is drawn. Default Uniform.
	JitterDist Distribution
	// Reorder is the probability in [0, 1] that a packet is held back by an
	// extra ReorderDelay, so later packets overtake it.
	Reorder float64
	// ReorderDelay is the extra delay given to a reordered packet. It must
	// be positive when Reorder > 0.
	ReorderDelay time.Duration
	// Duplicate is the probability in [0, 1] that a packet is delivered
	// twice. Each copy gets its own delay, so copies may arrive apart.
	Duplicate float64
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (f LinkFaults) Validate() error {
	probs := []struct {
		name string
		p    float64
	}{
		{"Loss", f.Loss},
		{"Burst.GoodToBad", f.Burst.GoodToBad},
		{"Burst.BadToGood", f.Burst.BadToGood},
		{"Burst.LossGood", f.Burst.LossGood},
		{"Burst.LossBad", f.Burst.LossBad},
		{"Reorder", f.Reorder},
		{"Duplicate", f.Duplicate},
	}
	for _, pr := range probs {
		if math.IsNaN(pr.p) || pr.p < 0 || pr.p > 1 {
			return fmt.Errorf("%w: %s = %v, want a probability in [0, 1]", ErrInvalidConfig, pr.name, pr.p)
		}
	}
	switch {
	case f.Delay < 0:
		return fmt.Errorf("%w: Delay = %v, want >= 0", ErrInvalidConfig, f.Delay)
	case f.Jitter < 0:
		return fmt.Errorf("%w: Jitter = %v, want >= 0", ErrInvalidConfig, f.Jitter)
	case f.JitterDist != Uniform && f.JitterDist != Normal:
		return fmt.Errorf("%w: JitterDist = %v, want Uniform or Normal", ErrInvalidConfig, f.JitterDist)
	case f.ReorderDelay < 0:
		return fmt.Errorf("%w: ReorderDelay = %v, want >= 0", ErrInvalidConfig, f.ReorderDelay)
	case f.Reorder > 0 && f.ReorderDelay == 0:
		return fmt.Errorf("%w: Reorder = %v needs a positive ReorderDelay", ErrInvalidConfig, f.Reorder)
	}
	return nil
}

// Config configures a Network. Start from DefaultConfig and change fields;
// zero sizes are rejected rather than silently defaulted. Config is a plain
// value; New copies it.
type Config struct {
	// Seed seeds the PCG generator behind every fault decision (loss,
	// burst state, duplication, jitter, reordering). Default 1. The same
	// seed and the same order of WriteTo calls give the same decisions, so
	// a failing simulation can be replayed.
	Seed uint64

	// Faults are the link faults of every directed link that has no
	// per-link override (see Network.SetLinkFaults). Default: the zero
	// LinkFaults, a perfect network. Change at run time with
	// Network.SetFaults.
	Faults LinkFaults

	// MaxPacketSize is the largest packet payload, in bytes, that WriteTo
	// delivers; bigger packets are dropped and counted as Drops.Oversize,
	// the way an IP path drops what it cannot carry. Default 65507, the
	// largest UDP payload over IPv4, so memberlist (which keeps packets
	// under its UDPBufferSize, 1400 by default) never hits it unless a test
	// lowers it on purpose.
	MaxPacketSize int

	// PacketQueueLen is the capacity, in packets, of each node's inbound
	// packet queue (its PacketCh). A packet arriving at a full queue is
	// dropped and counted as Drops.QueueFull; the sender never blocks, as
	// with a full UDP receive buffer. Default 1024, enough for memberlist's
	// packet listener, which drains promptly.
	PacketQueueLen int

	// StreamQueueLen is the capacity, in connections, of each node's
	// inbound stream queue (its StreamCh), like a TCP accept backlog. A
	// dial to a node whose queue is full is refused at once. Default 64.
	StreamQueueLen int

	// Logger receives Info records for topology changes (nodes, partitions,
	// faults) and Debug records for every dropped packet. Default nil,
	// which discards everything.
	Logger *slog.Logger
}

// DefaultConfig returns a Config for a perfect network with seed 1.
func DefaultConfig() Config {
	return Config{
		Seed:           1,
		MaxPacketSize:  65507,
		PacketQueueLen: 1024,
		StreamQueueLen: 64,
	}
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.MaxPacketSize <= 0:
		return fmt.Errorf("%w: MaxPacketSize = %d, want > 0 (DefaultConfig uses 65507)", ErrInvalidConfig, c.MaxPacketSize)
	case c.PacketQueueLen <= 0:
		return fmt.Errorf("%w: PacketQueueLen = %d, want > 0 (DefaultConfig uses 1024)", ErrInvalidConfig, c.PacketQueueLen)
	case c.StreamQueueLen <= 0:
		return fmt.Errorf("%w: StreamQueueLen = %d, want > 0 (DefaultConfig uses 64)", ErrInvalidConfig, c.StreamQueueLen)
	}
	if err := c.Faults.Validate(); err != nil {
		return fmt.Errorf("Faults: %w", err)
	}
	return nil
}
