package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/strategy"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// PatchContentType is the media type PATCH /v1/state accepts (RFC 6902).
const PatchContentType = "application/json-patch+json"

// getState serves the whole state or the value at {pointer...}.
func (h *Handler) getState(w http.ResponseWriter, r *http.Request) {
	state := h.cfg.Node.State()
	raw := r.PathValue("pointer")
	if raw == "" {
		writeJSON(w, state)
		return
	}
	p, err := draft.ParsePointer("/" + raw)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, ProblemMalformed, err.Error())
		return
	}
	v, ok := state.At(p)
	if !ok {
		writeProblem(w, r, http.StatusNotFound, ProblemNotFound, fmt.Sprintf("no value at %q", "/"+raw))
		return
	}
	writeJSON(w, v)
}

// patchState applies an RFC 6902 patch document as one atomic update.
func (h *Handler) patchState(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != PatchContentType {
		writeProblem(w, r, http.StatusUnsupportedMediaType, ProblemMediaType,
			fmt.Sprintf("Content-Type must be %s, got %q", PatchContentType, r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, ProblemTooLarge,
				fmt.Sprintf("request body is over the limit of %d bytes", tooBig.Limit))
			return
		}
		writeProblem(w, r, http.StatusBadRequest, ProblemMalformed, "reading the body: "+err.Error())
		return
	}
	var patches []draft.Patch
	if err := json.Unmarshal(body, &patches); err != nil {
		writeProblem(w, r, http.StatusBadRequest, ProblemMalformed,
			"the body is not an RFC 6902 JSON Patch array: "+err.Error())
		return
	}
	err = h.cfg.Node.Update(r.Context(), func(d *draft.Draft) error { return d.ApplyPatches(patches) })
	if err != nil {
		status, typ := patchErrorStatus(err)
		if status == http.StatusInternalServerError {
			h.log.Error("patch failed", "err", err)
		}
		writeProblem(w, r, status, typ, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// patchErrorStatus maps an Update error to a status and problem type.
func patchErrorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, draft.ErrTestFailed):
		return http.StatusConflict, ProblemTestFailed
	case errors.Is(err, draft.ErrNotFound):
		return http.StatusNotFound, ProblemNotFound
	case errors.Is(err, draft.ErrBadPatch), errors.Is(err, draft.ErrBadPointer), errors.Is(err, draft.ErrBadValue):
		return http.StatusBadRequest, ProblemMalformed
	case errors.Is(err, draft.ErrWrongType), errors.Is(err, draft.ErrIndexRange), errors.Is(err, crdt.ErrPath):
		return http.StatusUnprocessableEntity, ProblemCannotApply
	case errors.Is(err, mesh.ErrStorage), errors.Is(err, mesh.ErrClosed), errors.Is(err, mesh.ErrNotStarted):
		// The node cannot acknowledge updates (its store failed, or it is
		// shutting down): the request was fine, the node is not.
		return http.StatusServiceUnavailable, ProblemUnavailable
	default:
		return http.StatusInternalServerError, ProblemInternal
	}
}

// ConflictValue is one concurrent value in a /v1/conflicts response.
type ConflictValue struct {
	Value   draft.Value `json:"value"`
	Replica string      `json:"replica"`
	// Name is the replica's node name, when the node knows it.
	Name string `json:"name,omitempty"`
	// Timestamp is the write's hybrid logical clock time, as wall time.
	Timestamp time.Time `json:"timestamp"`
	// HLC is the full hybrid logical clock timestamp.
	HLC    string `json:"hlc"`
	Winner bool   `json:"winner"`
}

// PathConflicts is the conflict report for one path.
type PathConflicts struct {
	Path     string          `json:"path"`
	Value    draft.Value     `json:"value"`
	Strategy string          `json:"strategy,omitempty"`
	Rule     string          `json:"rule,omitempty"`
	Values   []ConflictValue `json:"values"`
}

// ConflictsResponse is the body of GET /v1/conflicts.
type ConflictsResponse struct {
	Conflicts []PathConflicts `json:"conflicts"`
	// Truncated says the scan of the whole state stopped at the path limit.
	Truncated bool `json:"truncated,omitempty"`
}

func (h *Handler) getConflicts(w http.ResponseWriter, r *http.Request) {
	cr, ok := h.cfg.Node.(ConflictReader)
	if !ok {
		writeProblem(w, r, http.StatusNotImplemented, ProblemUnsupported, "this node cannot list conflicts")
		return
	}
	state := h.cfg.Node.State()
	resp := ConflictsResponse{Conflicts: []PathConflicts{}}
	if q := r.URL.Query(); q.Has("path") {
		p, err := draft.ParsePointer(q.Get("path"))
		if err != nil {
			writeProblem(w, r, http.StatusBadRequest, ProblemMalformed, "path: "+err.Error())
			return
		}
		if _, ok := state.At(p); !ok {
			writeProblem(w, r, http.StatusNotFound, ProblemNotFound, fmt.Sprintf("no value at %q", q.Get("path")))
			return
		}
		if pc, ok := h.conflictsAt(cr, state, p); ok {
			resp.Conflicts = append(resp.Conflicts, pc)
		}
		writeJSON(w, resp)
		return
	}
	budget := h.cfg.MaxConflictPaths
	resp.Truncated = !h.scanConflicts(cr, state, nil, &budget, &resp.Conflicts)
	writeJSON(w, resp)
}

// scanConflicts walks state depth-first, collecting conflicted paths; it
// does not descend into a conflicted value. It returns false when the
// budget ran out.
func (h *Handler) scanConflicts(cr ConflictReader, state draft.Value, p draft.Path, budget *int, out *[]PathConflicts) bool {
	if *budget <= 0 {
		return false
	}
	*budget--
	if len(p) > 0 {
		if pc, ok := h.conflictsAt(cr, state, p); ok {
			*out = append(*out, pc)
			return true
		}
	}
	v, _ := state.At(p)
	child := func(s draft.Segment) draft.Path { return append(p[:len(p):len(p)], s) }
	switch v.Kind() {
	case draft.MapKind:
		for k := range v.Keys() {
			if !h.scanConflicts(cr, state, child(draft.Key(k)), budget, out) {
				return false
			}
		}
	case draft.ListKind:
		for i := range v.Len() {
			if !h.scanConflicts(cr, state, child(draft.Index(i)), budget, out) {
				return false
			}
		}
	}
	return true
}

func (h *Handler) conflictsAt(cr ConflictReader, state draft.Value, p draft.Path) (PathConflicts, bool) {
	cs := cr.Conflicts(p)
	if len(cs) == 0 {
		return PathConflicts{}, false
	}
	v, _ := state.At(p)
	pc := PathConflicts{Path: p.String(), Value: v, Values: make([]ConflictValue, len(cs))}
	if h.cfg.Strategies != nil {
		kind, rule := strategy.Of(h.cfg.Strategies, state, p)
		pc.Strategy, pc.Rule = kind.String(), rule
	}
	namer, _ := h.cfg.Node.(ReplicaNamer)
	for i, c := range cs {
		if namer != nil {
			pc.Values[i].Name = namer.ReplicaName(c.Replica)
		}
		pc.Values[i] = ConflictValue{Name: pc.Values[i].Name, Value: c.Value, Replica: c.Replica.String(),
			Timestamp: time.UnixMilli(c.Timestamp.Wall).UTC(), HLC: c.Timestamp.String(), Winner: c.Winner}
	}
	return pc, true
}
