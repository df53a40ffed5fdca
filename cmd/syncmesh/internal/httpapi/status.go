package httpapi

import (
	"net/http"
	"slices"

	"github.com/syncmesh/syncmesh/mesh"
)

// MembersResponse is the body of GET /v1/members.
type MembersResponse struct {
	Self    string   `json:"self"`
	Members []Member `json:"members"`
}

// Member is one live member.
type Member struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

func (h *Handler) getMembers(w http.ResponseWriter, r *http.Request) {
	ms := h.cfg.Node.Members()
	resp := MembersResponse{Self: h.cfg.Node.Status().Name, Members: make([]Member, len(ms))}
	for i, m := range ms {
		resp.Members[i] = Member{Name: m.Name, Addr: m.Addr}
	}
	writeJSON(w, resp)
}

// StatusResponse is the body of GET /v1/status: mesh.Status with JSON
// names, plus the peers' version vectors when the node knows them.
type StatusResponse struct {
	Name string `json:"name"`
	// Version maps replica ids to the highest contiguous sequence number.
	Version map[string]uint64 `json:"version"`
	// Names maps replica ids to node names, when the node knows them.
	Names map[string]string `json:"names,omitempty"`
	// Ops is the number of operations the version vector covers.
	Ops     uint64 `json:"ops"`
	Members int    `json:"members"`
	// Durable reports a node with a data directory; Failure, when set,
	// says why its store failed and it stopped acknowledging updates;
	// UndurableOps counts own updates applied but not yet on disk.
	Durable      bool   `json:"durable"`
	Failure      string `json:"failure,omitempty"`
	UndurableOps uint64 `json:"undurable_ops,omitempty"`

	Pending             int `json:"pending"`
	Quarantined         int `json:"quarantined"`
	InboxDepth          int `json:"inbox_depth"`
	OutboxDepth         int `json:"outbox_depth"`
	BroadcastQueueDepth int `json:"broadcast_queue_depth"`

	SentMessages     map[string]uint64 `json:"sent_messages"`
	SentBytes        map[string]uint64 `json:"sent_bytes"`
	ReceivedMessages map[string]uint64 `json:"received_messages"`
	ReceivedBytes    map[string]uint64 `json:"received_bytes"`
	Rejected         map[string]uint64 `json:"rejected"`

	InboxDrops        uint64 `json:"inbox_drops"`
	SendDrops         uint64 `json:"send_drops"`
	SendErrors        uint64 `json:"send_errors"`
	BroadcastPruned   uint64 `json:"broadcast_pruned"`
	WatchDrops        uint64 `json:"watch_drops"`
	EventDrops        uint64 `json:"event_drops"`
	RefusedPeers      uint64 `json:"refused_peers"`
	Duplicates        uint64 `json:"duplicates"`
	Regossiped        uint64 `json:"regossiped"`
	AppliedChanges    uint64 `json:"applied_changes"`
	Fetches           uint64 `json:"fetches"`
	AntiEntropyRounds uint64 `json:"anti_entropy_rounds"`
	SnapshotsSent     uint64 `json:"snapshots_sent"`
	SnapshotsMerged   uint64 `json:"snapshots_merged"`
	LastLagMillis     int64  `json:"last_lag_ms"`

	// Peers are other nodes' version vectors, by name, with whether this
	// node has everything each has (InSync). Present only when the node
	// knows them.
	Peers []PeerVersion `json:"peers,omitempty"`
}

// PeerVersion is one peer's version vector as this node knows it.
type PeerVersion struct {
	Name    string            `json:"name"`
	Version map[string]uint64 `json:"version"`
	Ops     uint64            `json:"ops"`
	// InSync: this node and the peer have the same operations.
	InSync bool `json:"in_sync"`
}

func versionJSON(v mesh.VersionVector) map[string]uint64 {
	out := make(map[string]uint64, len(v))
	for r, s := range v {
		out[r.String()] = s
	}
	return out
}

func byType(m map[mesh.MsgType]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for t, n := range m {
		out[t.String()] = n
	}
	return out
}

func (h *Handler) status() StatusResponse {
	s := h.cfg.Node.Status()
	resp := StatusResponse{
		Name: s.Name, Version: versionJSON(s.Version), Ops: s.Version.Total(), Members: s.Members,
		Durable: s.Durable, Failure: s.Failure, UndurableOps: s.UndurableOps,
		Pending: s.Pending, Quarantined: s.Quarantined, InboxDepth: s.InboxDepth, OutboxDepth: s.OutboxDepth,
		BroadcastQueueDepth: s.BroadcastQueueDepth,
		SentMessages:        byType(s.SentMessages), SentBytes: byType(s.SentBytes),
		ReceivedMessages: byType(s.ReceivedMessages), ReceivedBytes: byType(s.ReceivedBytes),
		Rejected:   make(map[string]uint64, len(s.Rejected)),
		InboxDrops: s.InboxDrops, SendDrops: s.SendDrops, SendErrors: s.SendErrors,
		BroadcastPruned: s.BroadcastPruned, WatchDrops: s.WatchDrops, EventDrops: s.EventDrops,
		RefusedPeers: s.RefusedPeers, Duplicates: s.Duplicates, Regossiped: s.Regossiped,
		AppliedChanges: s.AppliedChanges, Fetches: s.Fetches, AntiEntropyRounds: s.AntiEntropyRounds,
		SnapshotsSent: s.SnapshotsSent, SnapshotsMerged: s.SnapshotsMerged, LastLagMillis: s.LastLagMillis,
	}
	for r, n := range s.Rejected {
		resp.Rejected[string(r)] = n
	}
	if namer, ok := h.cfg.Node.(ReplicaNamer); ok {
		resp.Names = make(map[string]string, len(s.Version))
		for r := range s.Version {
			resp.Names[r.String()] = namer.ReplicaName(r)
		}
	}
	if pv, ok := h.cfg.Node.(PeerVersions); ok {
		for name, v := range pv.PeerVersions() {
			resp.Peers = append(resp.Peers, PeerVersion{Name: name, Version: versionJSON(v), Ops: v.Total(),
				InSync: v.Covers(s.Version) && s.Version.Covers(v)})
		}
		slices.SortFunc(resp.Peers, func(a, b PeerVersion) int {
			return cmpNames(a.Name, b.Name)
		})
	}
	return resp
}

// cmpNames orders names like node2 before node10.
func cmpNames(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (h *Handler) getStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, h.status())
}

// HealthResponse is the body of GET /healthz.
type HealthResponse struct {
	Status  string `json:"status"`
	Name    string `json:"name"`
	Members int    `json:"members"`
	// Failure says why the node's store failed (only with status "failed").
	Failure string `json:"failure,omitempty"`
}

// healthz answers 200 while the node serves, and 503 with status "failed"
// once its store has failed and it no longer acknowledges updates (it must
// be restarted). The member count lets a probe tell a lone node from a
// joined one.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	s := h.cfg.Node.Status()
	if s.Failure != "" {
		writeJSONStatus(w, http.StatusServiceUnavailable,
			HealthResponse{Status: "failed", Name: s.Name, Members: s.Members, Failure: s.Failure})
		return
	}
	writeJSON(w, HealthResponse{Status: "ok", Name: s.Name, Members: s.Members})
}
