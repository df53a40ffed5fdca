package simulations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Duration is a time span in a scenario file: a Go duration string ("200ms",
// "1.5s") or a number of milliseconds. It marshals as a string.
type Duration time.Duration

// ms returns n milliseconds as a Duration.
func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

// Millis returns d in whole milliseconds.
func (d Duration) Millis() int64 { return time.Duration(d).Milliseconds() }

// Micros returns d in microseconds, the simulator's time unit.
func (d Duration) Micros() int64 { return time.Duration(d).Microseconds() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad duration %q (want like \"200ms\" or \"2s\")", s)
		}
		*d = Duration(v)
		return nil
	}
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("bad duration %s (want a string like \"200ms\" or milliseconds)", b)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Scenario describes one simulation run: the mesh, its settings, the
// workload and the fault timeline. Zero fields take the defaults listed on
// each field (see Defaults). A Scenario is a plain value.
type Scenario struct {
	// Name labels the report. Default: the file name without extension.
	Name string `json:"name,omitempty"`
	// Seed seeds every random choice of the run. Same seed, same report.
	Seed uint64 `json:"seed,omitempty"`
	// Nodes is the number of nodes at the start. Required, 1..100000.
	Nodes int `json:"nodes"`
	// Duration bounds the run in virtual time. The run ends earlier once the
	// workload and the fault timeline are over and every live replica has
	// converged; if it has not converged by Duration, that is a violation.
	// Default: the workload's end plus the last fault plus 60 s.
	Duration Duration `json:"duration,omitempty"`
	// Gossip models memberlist's piggybacked gossip.
	Gossip GossipParams `json:"gossip,omitempty"`
	// Mesh sets the protocol core's own timers and sizes.
	Mesh MeshParams `json:"mesh,omitempty"`
	// Network is the fault-free network (latency, jitter, base loss).
	Network NetworkParams `json:"network,omitempty"`
	// Workload is the writes the nodes make.
	Workload Workload `json:"workload,omitempty"`
	// Faults is the fault timeline, in any order.
	Faults []Fault `json:"faults,omitempty"`
}

// GossipParams are memberlist's gossip parameters, with its LAN defaults.
type GossipParams struct {
	// Interval between gossip rounds of one node. Default 200ms (LAN).
	Interval Duration `json:"interval,omitempty"`
	// Fanout is GossipNodes: peers each round sends a packet to. Default 3.
	Fanout int `json:"fanout,omitempty"`
	// RetransmitMult: each queued broadcast is sent at most
	// RetransmitMult*ceil(log10(N+1)) times by each node. Default 4.
	RetransmitMult int `json:"retransmit_mult,omitempty"`
	// PacketBytes is the UDP packet budget (memberlist's UDPBufferSize).
	// Default 1400.
	PacketBytes int `json:"packet_bytes,omitempty"`
	// PacketOverhead is the per-packet header (compound message header,
	// label). Default 4 bytes.
	PacketOverhead int `json:"packet_overhead,omitempty"`
	// MessageOverhead is each message's framing inside a compound packet
	// (length prefix and user-message type byte). Default 3 bytes.
	MessageOverhead int `json:"message_overhead,omitempty"`
	// QueueLimit bounds each node's broadcast queue; beyond it the most
	// transmitted, oldest broadcasts are pruned (counted as drops). Default
	// 8192 (mesh's BroadcastQueueLimit).
	QueueLimit int `json:"queue_limit,omitempty"`
	// FailureDetection is how long after a crash or leave the others stop
	// choosing the node (memberlist's probe + suspicion time). Default 5s.
	FailureDetection Duration `json:"failure_detection,omitempty"`
	// PeerView caps how many peers each protocol core knows (it picks
	// anti-entropy partners among them), so that 10,000 nodes do not need
	// 10^8 peer entries. Default min(N-1, 256).
	PeerView int `json:"peer_view,omitempty"`
}

// MeshParams are the protocol core's settings (mesh.CoreConfig).
type MeshParams struct {
	// AntiEntropy is the anti-entropy interval. Default 1s.
	AntiEntropy Duration `json:"anti_entropy,omitempty"`
	// Tick is how often each core's Tick runs. Default 200ms.
	Tick Duration `json:"tick,omitempty"`
	// FastPathBytes: larger change messages are announced, not gossiped.
	// Default 1024.
	FastPathBytes int `json:"fast_path_bytes,omitempty"`
	// MaxDrift is the clocks' maximum drift. Default 500ms.
	MaxDrift Duration `json:"max_drift,omitempty"`
	// SeenCapacity is the core's re-gossip memory. Default 1024 (small to
	// keep 10,000 nodes in memory; the version check still stops loops).
	SeenCapacity int `json:"seen_capacity,omitempty"`
	// MaxPending bounds each document's pending buffer. Default 10,000.
	MaxPending int `json:"max_pending,omitempty"`
	// SnapshotMissingOps: a peer lacking more operations than this gets a
	// snapshot instead of changes. Default 50,000 (mesh's default).
	SnapshotMissingOps uint64 `json:"snapshot_missing_ops,omitempty"`
}

// NetworkParams describe the network outside fault windows.
type NetworkParams struct {
	// Latency is the one-way packet delay. Default 1ms.
	Latency Duration `json:"latency,omitempty"`
	// Jitter is added uniformly in [0, Jitter). Default 0.
	Jitter Duration `json:"jitter,omitempty"`
	// StreamLatency is the delay of a reliable (TCP) message. Default 3 x
	// Latency (handshake plus transfer).
	StreamLatency Duration `json:"stream_latency,omitempty"`
	// Loss is the base share of gossip packets lost, 0..1. Default 0.
	Loss float64 `json:"loss,omitempty"`
}

// Workload describes the writes.
type Workload struct {
	// Writes is the number of writes. Default 100.
	Writes int `json:"writes,omitempty"`
	// Rate is writes per second across the mesh. Default 20.
	Rate float64 `json:"rate,omitempty"`
	// Start is when the first write is made. Default 1s.
	Start Duration `json:"start,omitempty"`
	// Writers is how many nodes write (the first ones). Default all.
	Writers int `json:"writers,omitempty"`
	// Keys is the size of the key space. Default 100.
	Keys int `json:"keys,omitempty"`
	// Distribution of keys: "uniform" (default) or "zipf".
	Distribution string `json:"distribution,omitempty"`
	// ZipfS is the zipf exponent (> 1). Default 1.2.
	ZipfS float64 `json:"zipf_s,omitempty"`
	// Mix is the share of each operation kind; default set 0.6, delete 0.1,
	// counter 0.2, list 0.1.
	Mix *Mix `json:"mix,omitempty"`
	// Conflict is the share of writes made on a key that was written within
	// the last gossip round by another node, forcing concurrent writes.
	// Default 0.1.
	Conflict *float64 `json:"conflict,omitempty"`
}

// Mix is the share of each operation kind in the workload. The shares are
// normalised; they must not all be zero.
type Mix struct {
	// Set writes a map key (last-writer-wins register).
	Set float64 `json:"set"`
	// Delete removes a map key (observed-remove).
	Delete float64 `json:"delete"`
	// Counter increments a counter under /cnt.
	Counter float64 `json:"counter"`
	// List appends to the list /log.
	List float64 `json:"list"`
}

// Fault kinds.
const (
	FaultLoss      = "loss"       // uniform loss Rate in [At, Until)
	FaultBurstLoss = "burst_loss" // Gilbert-Elliott loss in [At, Until)
	FaultDelay     = "delay"      // latency and jitter in [At, Until)
	FaultDuplicate = "duplicate"  // packets duplicated with probability Rate
	FaultReorder   = "reorder"    // packets held back by up to Extra with probability Rate
	FaultPartition = "partition"  // Mode halves|bridge|oneway|isolate until Until
	FaultFlap      = "flap"       // a halves partition toggling every Period until Until
	FaultCrash     = "crash"      // Node crashes; restarts after Restart (with Disk or empty)
	FaultSkew      = "skew"       // Node's physical clock set Offset from true time
	FaultJump      = "jump"       // Node's physical clock jumps by Offset (may be negative)
	FaultJoin      = "join"       // Count new empty nodes join
	FaultLeave     = "leave"      // Node leaves for good
)

// Fault is one entry of the fault timeline. Which fields apply depends on
// Kind; the others must be zero.
type Fault struct {
	// Kind is one of the Fault* constants.
	Kind string `json:"kind"`
	// At is when the fault starts.
	At Duration `json:"at"`
	// Until is when a windowed fault ends (loss, burst_loss, delay,
	// duplicate, reorder, partition, flap): the heal.
	Until Duration `json:"until,omitempty"`
	// Rate is a probability 0..1 (loss, duplicate, reorder).
	Rate float64 `json:"rate,omitempty"`
	// Burst parameters (burst_loss): P(good->bad) and P(bad->good) per
	// packet, and the loss in the bad state (the good state loses Rate).
	EnterBad float64 `json:"enter_bad,omitempty"`
	ExitBad  float64 `json:"exit_bad,omitempty"`
	BadLoss  float64 `json:"bad_loss,omitempty"`
	// Latency and Jitter replace the network's during a delay fault.
	Latency Duration `json:"latency,omitempty"`
	Jitter  Duration `json:"jitter,omitempty"`
	// Extra is the largest hold-back of a reordered packet.
	Extra Duration `json:"extra,omitempty"`
	// Mode of a partition: halves, bridge (Node talks to both halves),
	// oneway (first half cannot reach the second) or isolate (Node alone).
	Mode string `json:"mode,omitempty"`
	// Node is the node index a fault acts on (crash, skew, jump, leave,
	// bridge, isolate).
	Node int `json:"node,omitempty"`
	// Period of a flapping partition (each state lasts Period).
	Period Duration `json:"period,omitempty"`
	// Restart is how long a crashed node stays down. Zero: it stays down.
	Restart Duration `json:"restart,omitempty"`
	// Disk: the node restarts with its document (true) or empty, as a new
	// replica (false).
	Disk bool `json:"disk,omitempty"`
	// Offset is the clock offset (skew) or jump (jump).
	Offset Duration `json:"offset,omitempty"`
	// Count is how many nodes join.
	Count int `json:"count,omitempty"`
}

// ErrScenario reports an invalid scenario file or value.
var ErrScenario = errors.New("simulations: invalid scenario")

func scenarioErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrScenario, fmt.Sprintf(format, a...))
}

// LoadScenario reads a scenario from a .yaml, .yml or .json file. Unknown
// fields and bad values are errors naming the field.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("simulations: %w", err)
	}
	s, err := ParseScenario(b, strings.HasSuffix(path, ".json"))
	if err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// ParseScenario parses a scenario from JSON (isJSON) or YAML and validates
// it. YAML is converted to JSON first so both accept exactly the same fields.
func ParseScenario(b []byte, isJSON bool) (Scenario, error) {
	if !isJSON {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return Scenario{}, scenarioErr("yaml: %v", err)
		}
		j, err := json.Marshal(yamlToJSON(v))
		if err != nil {
			return Scenario{}, scenarioErr("yaml: %v", err)
		}
		b = j
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, scenarioErr("%v", err)
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, err
	}
	return s, nil
}

// yamlToJSON turns yaml's map[string]any (and any-keyed maps) into values
// encoding/json accepts.
func yamlToJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlToJSON(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = yamlToJSON(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = yamlToJSON(e)
		}
		return x
	}
	return v
}

// Encode returns s as indented JSON (the form campaign failures are saved
// in).
func (s Scenario) Encode() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("simulations: scenario does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// Defaults returns s with every zero field set to its default.
func (s Scenario) Defaults() Scenario {
	g := &s.Gossip
	def := func(p *Duration, d time.Duration) {
		if *p == 0 {
			*p = Duration(d)
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&g.Interval, 200*time.Millisecond)
	defInt(&g.Fanout, 3)
	defInt(&g.RetransmitMult, 4)
	defInt(&g.PacketBytes, 1400)
	defInt(&g.PacketOverhead, 4)
	defInt(&g.MessageOverhead, 3)
	defInt(&g.QueueLimit, 8192)
	def(&g.FailureDetection, 5*time.Second)
	defInt(&g.PeerView, min(max(s.Nodes-1, 1), 256))
	m := &s.Mesh
	def(&m.AntiEntropy, time.Second)
	def(&m.Tick, 200*time.Millisecond)
	defInt(&m.FastPathBytes, 1024)
	def(&m.MaxDrift, 500*time.Millisecond)
	defInt(&m.SeenCapacity, 1024)
	defInt(&m.MaxPending, 10_000)
	if m.SnapshotMissingOps == 0 {
		m.SnapshotMissingOps = 50_000
	}
	n := &s.Network
	def(&n.Latency, time.Millisecond)
	def(&n.StreamLatency, 3*time.Duration(n.Latency))
	w := &s.Workload
	defInt(&w.Writes, 100)
	if w.Rate == 0 {
		w.Rate = 20
	}
	def(&w.Start, time.Second)
	if w.Writers == 0 || w.Writers > s.Nodes {
		w.Writers = s.Nodes
	}
	defInt(&w.Keys, 100)
	if w.Distribution == "" {
		w.Distribution = "uniform"
	}
	if w.ZipfS == 0 {
		w.ZipfS = 1.2
	}
	if w.Mix == nil {
		w.Mix = &Mix{Set: 0.6, Delete: 0.1, Counter: 0.2, List: 0.1}
	}
	if w.Conflict == nil {
		c := 0.1
		w.Conflict = &c
	}
	if s.Duration == 0 {
		end := w.Start.Micros() + int64(float64(w.Writes)/w.Rate*1e6)
		for _, f := range s.Faults {
			end = max(end, f.At.Micros(), f.Until.Micros(), f.At.Micros()+f.Restart.Micros())
		}
		s.Duration = Duration(time.Duration(end)*time.Microsecond + 60*time.Second)
	}
	return s
}

// Validate reports the first invalid value, naming its field.
func (s Scenario) Validate() error {
	prob := func(name string, p float64) error {
		if p < 0 || p > 1 {
			return scenarioErr("%s = %v: want a probability in [0, 1]", name, p)
		}
		return nil
	}
	nonNeg := func(name string, v int64) error {
		if v < 0 {
			return scenarioErr("%s = %v: must not be negative", name, v)
		}
		return nil
	}
	switch {
	case s.Nodes < 1 || s.Nodes > 100_000:
		return scenarioErr("nodes = %d: want 1..100000", s.Nodes)
	case s.Gossip.Fanout < 0 || s.Gossip.RetransmitMult < 0 || s.Gossip.PacketBytes < 0 || s.Gossip.QueueLimit < 0 || s.Gossip.PeerView < 0:
		return scenarioErr("gossip: sizes and counts must not be negative")
	case s.Gossip.PacketBytes != 0 && s.Gossip.PacketBytes < 128:
		return scenarioErr("gossip.packet_bytes = %d: want at least 128", s.Gossip.PacketBytes)
	case s.Workload.Writes < 0 || s.Workload.Rate < 0 || s.Workload.Keys < 0 || s.Workload.Writers < 0:
		return scenarioErr("workload: counts and rate must not be negative")
	case s.Workload.Distribution != "" && s.Workload.Distribution != "uniform" && s.Workload.Distribution != "zipf":
		return scenarioErr("workload.distribution = %q: want uniform or zipf", s.Workload.Distribution)
	case s.Workload.ZipfS != 0 && s.Workload.ZipfS <= 1:
		return scenarioErr("workload.zipf_s = %v: want > 1", s.Workload.ZipfS)
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"duration", s.Duration}, {"gossip.interval", s.Gossip.Interval}, {"gossip.failure_detection", s.Gossip.FailureDetection},
		{"mesh.anti_entropy", s.Mesh.AntiEntropy}, {"mesh.tick", s.Mesh.Tick}, {"mesh.max_drift", s.Mesh.MaxDrift},
		{"network.latency", s.Network.Latency}, {"network.jitter", s.Network.Jitter}, {"network.stream_latency", s.Network.StreamLatency},
		{"workload.start", s.Workload.Start}} {
		if err := nonNeg(d.name, int64(d.v)); err != nil {
			return err
		}
	}
	if err := prob("network.loss", s.Network.Loss); err != nil {
		return err
	}
	if c := s.Workload.Conflict; c != nil {
		if err := prob("workload.conflict", *c); err != nil {
			return err
		}
	}
	if m := s.Workload.Mix; m != nil {
		if m.Set < 0 || m.Delete < 0 || m.Counter < 0 || m.List < 0 || m.Set+m.Delete+m.Counter+m.List == 0 {
			return scenarioErr("workload.mix: shares must be >= 0 and not all zero")
		}
	}
	total := s.Nodes
	for i, f := range s.Faults {
		if err := f.validate(total); err != nil {
			return fmt.Errorf("%w (faults[%d])", err, i)
		}
		if f.Kind == FaultJoin {
			total += f.Count
		}
	}
	return nil
}

func (f Fault) validate(nodes int) error {
	where := "faults: " + f.Kind
	if f.At < 0 || f.Until < 0 || f.Restart < 0 || f.Period < 0 || f.Latency < 0 || f.Jitter < 0 || f.Extra < 0 {
		return scenarioErr("%s: times must not be negative", where)
	}
	for _, p := range []float64{f.Rate, f.EnterBad, f.ExitBad, f.BadLoss} {
		if p < 0 || p > 1 {
			return scenarioErr("%s: probability %v outside [0, 1]", where, p)
		}
	}
	window := func() error {
		if f.Until <= f.At {
			return scenarioErr("%s: until (%v) must be after at (%v)", where, time.Duration(f.Until), time.Duration(f.At))
		}
		return nil
	}
	node := func() error {
		if f.Node < 0 || f.Node >= nodes {
			return scenarioErr("%s: node %d out of range 0..%d", where, f.Node, nodes-1)
		}
		return nil
	}
	switch f.Kind {
	case FaultLoss, FaultDuplicate, FaultDelay:
		return window()
	case FaultReorder:
		if f.Extra == 0 {
			return scenarioErr("%s: extra (hold-back) must be > 0", where)
		}
		return window()
	case FaultBurstLoss:
		if f.EnterBad == 0 || f.ExitBad == 0 {
			return scenarioErr("%s: enter_bad and exit_bad must be > 0", where)
		}
		return window()
	case FaultPartition:
		switch f.Mode {
		case "halves", "oneway":
		case "bridge", "isolate":
			if err := node(); err != nil {
				return err
			}
		default:
			return scenarioErr("%s: mode %q: want halves, bridge, oneway or isolate", where, f.Mode)
		}
		return window()
	case FaultFlap:
		if f.Period <= 0 {
			return scenarioErr("%s: period must be > 0", where)
		}
		return window()
	case FaultCrash, FaultSkew, FaultJump, FaultLeave:
		return node()
	case FaultJoin:
		if f.Count < 1 {
			return scenarioErr("%s: count must be >= 1", where)
		}
		return nil
	}
	return scenarioErr("faults: unknown kind %q (want loss, burst_loss, delay, duplicate, reorder, partition, flap, crash, skew, jump, join or leave)", f.Kind)
}
