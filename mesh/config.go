package mesh

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/crdt"
)

// Profile selects the memberlist timing preset (a plain value) a Config builds on: failure
// detection, suspicion and TCP timeouts come from memberlist's matching
// DefaultLANConfig, DefaultWANConfig or DefaultLocalConfig.
type Profile uint8

// The memberlist presets.
const (
	ProfileLAN Profile = iota
	ProfileWAN
	ProfileLocal
)

// String returns the profile's name.
func (p Profile) String() string {
	switch p {
	case ProfileLAN:
		return "lan"
	case ProfileWAN:
		return "wan"
	case ProfileLocal:
		return "local"
	}
	return fmt.Sprintf("profile(%d)", uint8(p))
}

// Config configures a Node. Start from DefaultConfig (= LANConfig),
// WANConfig or LocalConfig and change what you need; New calls Validate. A
// Config is a plain value; the Node keeps its own copy.
type Config struct {
	// Name is this node's unique name in the mesh (memberlist node name).
	// Default: the host name. Two live nodes must never share a name.
	Name string

	// Replica is the replica id of the document New creates: unique among
	// all replicas that ever wrote to the document, and never reused by a
	// node that lost its state. Default 0: a random id (crypto/rand); with
	// DataDir, the id stored there (created once with the directory), and a
	// non-zero Replica must equal it. Ignored when Document is set.
	Replica clock.ReplicaID
	// MaxDrift is how far ahead of our physical time a remote change's
	// clock may be before the change is quarantined (held and retried as
	// time passes) instead of applied. Default 500 ms (clock's default).
	// Ignored when Document is set.
	MaxDrift time.Duration
	// Strategies is the document's conflict-strategy table. Every node of a
	// mesh must use an equal table: peers with another fingerprint are
	// refused at join time. Default nil: LastWriterWins everywhere. Ignored
	// when Document is set.
	Strategies *crdt.Strategies
	// Document overrides the document: tests and simulations pass a fake or
	// a prepared one (see NewDocument). Default nil: New creates a
	// crdt.Doc from Replica, Physical, MaxDrift and Strategies. The Node
	// owns it after New: nothing else may call it.
	Document LocalDocument

	// DataDir is the node's data directory: with it, New opens (or creates)
	// the on-disk store there (mesh/store, one bbolt file), restores the
	// document, replica id and clock from it, and Update returns only once
	// its change is durable. Default "": everything in memory, nothing
	// survives Close (the library default, as for tests and simulations).
	// With DataDir, Document must be nil (the Node builds the document to
	// restore it) and Replica must be 0 or the stored id (the store owns it).
	DataDir string
	// NoSync turns fsync off for the store in DataDir: an acknowledged
	// update survives a process crash but not a power loss or kernel crash.
	// Default false (durable). For tests and benchmarks.
	NoSync bool
	// MeshID identifies the mesh the data directory belongs to (for example
	// the mesh label). Stored when the directory is created; New refuses a
	// directory written for another MeshID, so a node cannot silently merge
	// one mesh's data into another. At most 1024 bytes. Default nil: no
	// identity (any directory created without one is accepted).
	MeshID []byte
	// Retention is how long a member that memberlist declared dead keeps
	// holding back the compaction frontier (its last known version vector
	// stays in the minimum). After it, the member no longer counts; if it
	// returns it is caught up with a snapshot. Default 24 h: long enough to
	// ride out a reboot or a day's network outage, short enough that a node
	// gone for good does not keep the log growing for ever.
	Retention time.Duration
	// CompactOps is how far (operations) the compaction frontier must have
	// moved past the store's floor before the Node compacts: snapshot plus
	// log truncation, checked on the tick. Default 10,000: a snapshot
	// rewrite costs about as much as replaying that many operations, so
	// compacting more often wastes more than it saves. Must be at least 1.
	CompactOps uint64

	// Profile is the memberlist timing preset (probe interval and timeout,
	// suspicion multiplier, TCP timeout, push/pull interval). Default LAN.
	Profile Profile

	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	// Default 0.0.0.0:7946 (LAN and WAN), 127.0.0.1:0 (local; 0 picks a free
	// port). Ignored when Transport is set.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are the address peers use to reach
	// this node, when it differs from the bind address (NAT, containers).
	// Default empty and 0: memberlist picks them from the bind address.
	AdvertiseAddr string
	AdvertisePort int
	// Transport replaces memberlist's UDP/TCP transport, for example with
	// an in-memory mesh/memnet transport in tests. Default nil: real
	// sockets.
	Transport memberlist.Transport

	// GossipNodes is memberlist's gossip fanout: peers each gossip round
	// goes to. Default 3 (LAN, local), 4 (WAN). Higher spreads changes in
	// fewer rounds at more bandwidth.
	GossipNodes int
	// GossipInterval is the time between gossip rounds. Default 200 ms
	// (LAN), 500 ms (WAN), 100 ms (local). Changes on the fast path take
	// about log_{k+1}(N) rounds to reach N nodes.
	GossipInterval time.Duration
	// RetransmitMult: each gossiped message is sent RetransmitMult *
	// ceil(log10(N+1)) times by each node that queues it. Default 4
	// (memberlist's LAN default, also used for local and WAN: memberlist's
	// local preset of 2 leaves small clusters' membership gossip too thin).
	RetransmitMult int

	// FastPathBytes is the largest encoded change message (bytes) gossiped
	// whole; larger changes are announced and fetched over TCP. Default
	// 1024: memberlist shares ~1400-byte UDP packets between its own
	// messages and ours, so larger messages would starve or never fit.
	FastPathBytes int
	// AntiEntropyInterval is the time between anti-entropy rounds, each a
	// version-vector exchange with one random peer that repairs whatever
	// gossip lost. Default 1 s (LAN, local), 5 s (WAN). This is ours, not
	// memberlist's push/pull (30 s), which carries no document data.
	AntiEntropyInterval time.Duration
	// ChunkBytes bounds the change data in one repair message (bytes).
	// Default 64 KiB: big enough to amortise per-message cost, small enough
	// not to hog a TCP stream.
	ChunkBytes int
	// ChunksPerReply bounds the repair messages sent for one digest; the
	// peer asks again for more. Default 4.
	ChunksPerReply int
	// SnapshotMissingOps: a peer lacking more than this many operations is
	// sent a snapshot instead of changes. Default 50,000.
	SnapshotMissingOps uint64
	// MaxMessageBytes is the largest message accepted or sent (bytes);
	// larger ones are rejected and counted. Default 32 MiB, which bounds a
	// snapshot: a larger document needs a higher limit.
	MaxMessageBytes int

	// InboxSize bounds received messages waiting for the protocol loop,
	// separately for gossip and for repair traffic (two inboxes, so gossip
	// cannot crowd out repair). When full, NotifyMsg drops the message
	// (counted) rather than block memberlist; anti-entropy recovers it.
	// Default 4096.
	InboxSize int
	// OutboxSize bounds direct (TCP) sends waiting for a sender worker.
	// When full the send is dropped and counted. Default 1024.
	OutboxSize int
	// SendWorkers is how many goroutines send direct messages, so one slow
	// or dead peer (TCP timeout) does not stall the others. Default 4.
	SendWorkers int
	// BroadcastQueueLimit bounds the gossip queue (messages). Beyond it the
	// oldest, most-retransmitted broadcasts are pruned (counted); repair
	// recovers them. Default 8192.
	BroadcastQueueLimit int
	// WatchBuffer is the per-watcher event buffer. A watcher that falls
	// behind loses events (counted) instead of blocking the mesh. Default
	// 256.
	WatchBuffer int
	// EventBuffer bounds the membership events channel; when full, events
	// are dropped (counted). Default 64.
	EventBuffer int
	// TickInterval is how often the protocol loop ticks: quarantine retries,
	// fetch expiry, peer list refresh, anti-entropy scheduling. Default
	// 100 ms. It must not exceed AntiEntropyInterval.
	TickInterval time.Duration
	// ReconnectInterval is the mean time between attempts to rejoin a
	// member that failed (declared dead, not one that left): each attempt
	// Joins one such member's last address, picked at random, after a
	// random 0.5x..1.5x of the interval. memberlist never contacts a dead
	// member again, so without this a partition that lasted until both
	// sides declared each other dead would never heal. Default 30 s. Zero
	// disables it.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long after it failed a member's address is
	// still retried. Default 24 h, as Serf's reconnector: a whole day of
	// outage heals by itself, at one Join per ReconnectInterval.
	ReconnectTimeout time.Duration

	// Compression turns on memberlist's LZW compression of packets and
	// streams. Default false (LAN, local), true (WAN): crdt changes are
	// already compact msgpack, and on a fast network compressing every
	// repair chunk cost a fifth of the CPU in the throughput benchmark; on
	// a WAN link the bytes matter more.
	Compression bool

	// SecretKeys turns on memberlist encryption (AES-GCM) when non-empty:
	// each key is 16, 24 or 32 bytes; the first encrypts, all decrypt (for
	// key rotation). Default none. A node without a matching key can neither
	// join nor inject messages.
	SecretKeys [][]byte
	// Label is put on every packet and stream (memberlist label); peers
	// with another label are ignored. Default "syncmesh". With encryption it
	// is also authenticated data.
	Label string

	// Physical is the wall clock used for message timing, quarantine
	// retries and the convergence-lag metric. Default clock.System().
	Physical clock.Physical
	// Seed seeds the protocol core's random peer choice. Default 0 means
	// "derive from Name and the start time".
	Seed uint64
	// Logger receives the node's logs, and memberlist's (at debug level,
	// warnings at warn). Default: discard.
	Logger *slog.Logger
	// Registerer, when set, gets a collector exporting Status as Prometheus
	// metrics (namespace "syncmesh_mesh", constant label "node"). Default
	// nil: no metrics registered.
	Registerer prometheus.Registerer
}

// Defaults of the durability fields of Config.
const (
	DefaultRetention  = 24 * time.Hour
	DefaultCompactOps = 10_000
	// MaxMeshIDBytes bounds Config.MeshID.
	MaxMeshIDBytes = 1024
)

// DefaultConfig returns the LAN preset.
func DefaultConfig() Config { return LANConfig() }

// LANConfig returns settings for nodes on one local network: memberlist's
// LAN timings, 200 ms gossip, 1 s anti-entropy.
func LANConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:                host,
		Profile:             ProfileLAN,
		BindAddr:            "0.0.0.0",
		BindPort:            7946,
		GossipNodes:         3,
		GossipInterval:      200 * time.Millisecond,
		RetransmitMult:      4,
		FastPathBytes:       1024,
		AntiEntropyInterval: time.Second,
		ChunkBytes:          64 << 10,
		ChunksPerReply:      4,
		SnapshotMissingOps:  50_000,
		MaxMessageBytes:     32 << 20,
		InboxSize:           4096,
		OutboxSize:          1024,
		SendWorkers:         4,
		BroadcastQueueLimit: 8192,
		WatchBuffer:         256,
		EventBuffer:         64,
		TickInterval:        100 * time.Millisecond,
		ReconnectInterval:   30 * time.Second,
		ReconnectTimeout:    24 * time.Hour,
		MaxDrift:            clock.DefaultMaxDrift,
		Retention:           DefaultRetention,
		CompactOps:          DefaultCompactOps,
		Label:               "syncmesh",
		Physical:            clock.System(),
	}
}

// WANConfig returns settings for nodes across data centres: memberlist's
// WAN timings, fanout 4 every 500 ms, anti-entropy every 5 s.
func WANConfig() Config {
	c := LANConfig()
	c.Profile = ProfileWAN
	c.GossipNodes = 4
	c.GossipInterval = 500 * time.Millisecond
	c.AntiEntropyInterval = 5 * time.Second
	c.TickInterval = 250 * time.Millisecond
	c.Compression = true
	return c
}

// LocalConfig returns settings for nodes on one host (tests, examples):
// memberlist's local timings, 127.0.0.1 on a free port, 100 ms gossip.
func LocalConfig() Config {
	c := LANConfig()
	c.Profile = ProfileLocal
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.GossipInterval = 100 * time.Millisecond
	c.TickInterval = 50 * time.Millisecond
	return c
}

// Validate reports the first invalid field, wrapped in ErrConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Name == "":
		return bad("Name is empty")
	case len(c.Name) > MaxNameBytes:
		return bad("Name is longer than %d bytes", MaxNameBytes)
	case c.Document == nil && c.MaxDrift <= 0:
		return bad("MaxDrift must be positive")
	case c.Profile > ProfileLocal:
		return bad("unknown Profile %d", c.Profile)
	case c.Transport == nil && (c.BindPort < 0 || c.BindPort > 65535):
		return bad("BindPort %d out of range", c.BindPort)
	case c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return bad("AdvertisePort %d out of range", c.AdvertisePort)
	case c.GossipNodes < 1:
		return bad("GossipNodes must be at least 1")
	case c.GossipInterval <= 0:
		return bad("GossipInterval must be positive")
	case c.RetransmitMult < 1:
		return bad("RetransmitMult must be at least 1")
	case c.FastPathBytes < 64 || c.FastPathBytes > 1300:
		return bad("FastPathBytes %d outside [64, 1300]: gossip packets carry ~1400 bytes", c.FastPathBytes)
	case c.AntiEntropyInterval <= 0:
		return bad("AntiEntropyInterval must be positive")
	case c.TickInterval <= 0 || c.TickInterval > c.AntiEntropyInterval:
		return bad("TickInterval must be positive and at most AntiEntropyInterval")
	case c.ReconnectInterval < 0 || c.ReconnectTimeout < 0:
		return bad("ReconnectInterval and ReconnectTimeout must not be negative")
	case c.ChunkBytes < 1024:
		return bad("ChunkBytes must be at least 1024")
	case c.ChunksPerReply < 1:
		return bad("ChunksPerReply must be at least 1")
	case c.SnapshotMissingOps < 1:
		return bad("SnapshotMissingOps must be at least 1")
	case c.MaxMessageBytes < 2*c.ChunkBytes:
		return bad("MaxMessageBytes must be at least twice ChunkBytes")
	case c.InboxSize < 1 || c.OutboxSize < 1 || c.SendWorkers < 1 || c.BroadcastQueueLimit < 1 ||
		c.WatchBuffer < 1 || c.EventBuffer < 1:
		return bad("queue sizes and SendWorkers must be at least 1")
	case c.Physical == nil:
		return bad("Physical is nil")
	case c.DataDir != "" && c.Document != nil:
		return bad("DataDir and Document are exclusive: the Node builds the document it restores")
	case len(c.MeshID) > MaxMeshIDBytes:
		return bad("MeshID is %d bytes, more than %d", len(c.MeshID), MaxMeshIDBytes)
	case c.Retention < 0:
		return bad("Retention must not be negative")
	case c.CompactOps < 1:
		return bad("CompactOps must be at least 1")
	}
	for i, k := range c.SecretKeys {
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return bad("SecretKeys[%d] is %d bytes, want 16, 24 or 32", i, n)
		}
	}
	return nil
}

// memberlistConfig builds the memberlist configuration for c.
func (c Config) memberlistConfig() (*memberlist.Config, error) {
	var mc *memberlist.Config
	switch c.Profile {
	case ProfileWAN:
		mc = memberlist.DefaultWANConfig()
	case ProfileLocal:
		mc = memberlist.DefaultLocalConfig()
	default:
		mc = memberlist.DefaultLANConfig()
	}
	mc.Name = c.Name
	mc.BindAddr, mc.BindPort = c.BindAddr, c.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = c.AdvertiseAddr, c.AdvertisePort
	mc.Transport = c.Transport
	mc.GossipNodes = c.GossipNodes
	mc.GossipInterval = c.GossipInterval
	mc.RetransmitMult = c.RetransmitMult
	mc.Label = c.Label
	mc.EnableCompression = c.Compression
	if len(c.SecretKeys) > 0 {
		kr, err := memberlist.NewKeyring(c.SecretKeys, c.SecretKeys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: keyring: %v", ErrConfig, err)
		}
		mc.Keyring = kr
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	return mc, nil
}
