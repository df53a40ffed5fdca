package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

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
	// Patches are the visible changes, RFC 6902 with intent (see draft).
	Patches []draft.Patch `json:"patches"`
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
			if !send("change", seq, WatchEvent{Seq: seq, Local: ev.Local, Node: name,
				At: time.Now().UTC(), Patches: ev.Patches}) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
