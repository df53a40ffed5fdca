package mesh

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// reconnector remembers members that memberlist stopped talking to (see
// memberGone) and picks one of them to rejoin every
// jittered interval. memberlist never probes, gossips (after
// GossipToTheDeadTime) or push/pulls with a dead member, so once both sides
// of a partition have declared each other dead nothing crosses it again:
// only a Join does, as Serf's reconnector does it.
//
// Its methods are safe for concurrent use: memberlist's event callbacks
// report deaths and joins, the reconnect goroutine asks for targets.
// Times are milliseconds of the caller's clock; randomness comes from a
// seeded PCG, so a given sequence of calls always gives the same choices.
type reconnector struct {
	interval int64 // mean ms between attempts; <= 0 disables
	timeout  int64 // ms after its failure a member is no longer retried

	attempts atomic.Uint64 // Joins tried

	mu   sync.Mutex
	rng  *rand.Rand
	dead map[string]failedMember
}

// failedMember is a member memberlist declared dead.
type failedMember struct {
	addr  string
	since int64
}

func newReconnector(interval, timeout time.Duration, seed uint64) *reconnector {
	return &reconnector{
		interval: interval.Milliseconds(),
		timeout:  timeout.Milliseconds(),
		rng:      rand.New(rand.NewPCG(seed, 0x7265636f6e6e6563)),
		dead:     map[string]failedMember{},
	}
}

// enabled reports whether reconnection is configured.
func (r *reconnector) enabled() bool { return r.interval > 0 }

// failed records that name (at addr) was declared dead at now.
func (r *reconnector) failed(name, addr string, now int64) {
	if !r.enabled() || addr == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead[name] = failedMember{addr: addr, since: now}
}

// forget drops name: it is alive again, or it left on purpose.
func (r *reconnector) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.dead, name)
}

// wait returns the time until the next attempt: the interval times a
// uniform factor in [0.5, 1.5), so nodes do not retry in lockstep.
func (r *reconnector) wait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := r.interval/2 + r.rng.Int64N(r.interval+1)
	return time.Duration(max(1, ms)) * time.Millisecond
}

// target forgets members that failed more than the timeout before now
// and returns the name and address of one of the others, picked at
// random, or false when there is none.
func (r *reconnector) target(now int64) (name, addr string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.dead))
	for n, f := range r.dead {
		if now-f.since > r.timeout {
			delete(r.dead, n)
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "", "", false
	}
	slices.Sort(names) // map order is random; the choice must not be
	name = names[r.rng.IntN(len(names))]
	return name, r.dead[name].addr, true
}

// memberGone feeds a NotifyLeave to the reconnector. memberlist reports a
// failure and a graceful leave with the same event, and the State of the
// Node it hands over is stale (its own copy shadows it), so both are
// remembered: rejoining a member that left is refused by it (it answers
// that it left) or fails to connect, at the cost of one Join per attempt
// until ReconnectTimeout.
func (n *Node) memberGone(node *memberlist.Node) {
	if node.Name == n.cfg.Name {
		return
	}
	n.reconnect.failed(node.Name, node.Address(), n.cfg.Physical.NowMillis())
}

// reconnectLoop rejoins one failed member every jittered
// Config.ReconnectInterval until ctx ends. A Join blocks for up to
// memberlist's TCP timeout when the address does not answer, so it runs
// here, never on the protocol loop.
func (n *Node) reconnectLoop(ctx context.Context) {
	defer n.wg.Done()
	if !n.reconnect.enabled() {
		return
	}
	timer := time.NewTimer(n.reconnect.wait())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if name, addr, ok := n.reconnect.target(n.cfg.Physical.NowMillis()); ok {
			if ml, err := n.memberlist(); err == nil {
				n.reconnect.attempts.Add(1)
				k, err := ml.Join([]string{addr})
				n.log.Info("rejoining a failed member", "peer", name, "addr", addr, "contacted", k, "err", err)
			}
		}
		timer.Reset(n.reconnect.wait())
	}
}
