package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/syncmesh/syncmesh/clock"
	"github.com/syncmesh/syncmesh/mesh"

	"github.com/syncmesh/syncmesh/draft"
)

// WatchEvent is the data of one "change" event on GET /v1/watch.
type WatchEvent struct {
	// Seq numbers the events of one stream from 1 (also the SSE id).
	Seq uint64 `json:"seq"`
	// Local is true for changes made through this node; false for changes
	// that arrived from the mesh.
	Local bool `json:"local"`
	// Node is this node's name: for a local change, the node that made it.
	Node string `json:"node"`
	// At is when this node applied the change (its wall clock, RFC 3339).
	At time.Time `json:"at"`
	// Origins are the replicas whose operations this node's version vector
	// gained since the previous event: for a remote change, who made it.
	// Approximate: the vector is read when the event is sent, so changes
	// applied just after it may be counted here too. Empty when the node
	// does not expose its version vector.
	Origins []Origin `json:"origins,omitempty"`
	// Patches are the visible changes, RFC 6902 with intent (see draft).
	Patches []draft.Patch `json:"patches"`
}

// Origin is a replica that contributed to a change, with its node name
// when the node knows it (ReplicaNamer).
type Origin struct {
	Replica string `json:"replica"`
	Name    string `json:"name,omitempty"`
}

// Versioner is implemented by nodes that expose their version vector
// cheaply (*mesh.Node does); the watch stream uses it for Origins.
type Versioner interface {
	Version() mesh.VersionVector
}

// ReplicaNamer is implemented by nodes that know which node owns a
// replica id (the demo does). Optional.
type ReplicaNamer interface {
	ReplicaName(r clock.ReplicaID) string
}

// origins returns the replicas that advanced from prev to now, sorted.
func (h *Handler) origins(prev, now mesh.VersionVector) []Origin {
	var rs []clock.ReplicaID
	for r, s := range now {
		if s > prev[r] {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	namer, _ := h.cfg.Node.(ReplicaNamer)
	out := make([]Origin, len(rs))
	for i, r := range rs {
		out[i].Replica = r.String()
		if namer != nil {
			out[i].Name = namer.ReplicaName(r)
		}
	}
	return out
}

// heartbeat is the interval of SSE comment lines that keep proxies and
// idle connections from closing the stream.
const heartbeat = 15 * time.Second

// watch streams changes as Server-Sent Events: first one "state" event with
// the whole current state (taken after subscribing, so no change falls
// between it and the first "change"), then one "change" event per batch.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	events := h.cfg.Node.Watch(ctx)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	name := h.cfg.Node.Status().Name
	send := func(event string, id uint64, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			h.log.Error("watch: encoding event", "err", err)
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", event, id, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	versioner, _ := h.cfg.Node.(Versioner)
	var prev mesh.VersionVector
	if versioner != nil {
		prev = versioner.Version()
	}
	if !send("state", 0, h.cfg.Node.State()) {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			seq++
			we := WatchEvent{Seq: seq, Local: ev.Local, Node: name, At: time.Now().UTC(), Patches: ev.Patches}
			if versioner != nil {
				now := versioner.Version()
				we.Origins, prev = h.origins(prev, now), now
			}
			if !send("change", seq, we) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
