package httpapi

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// Problem types: stable URNs, documented in docs/http-api.md.
const (
	ProblemMalformed    = "urn:syncmesh:problem:malformed"
	ProblemUnauthorized = "urn:syncmesh:problem:unauthorized"
	ProblemNotFound     = "urn:syncmesh:problem:not-found"
	ProblemTestFailed   = "urn:syncmesh:problem:test-failed"
	ProblemTooLarge     = "urn:syncmesh:problem:too-large"
	ProblemMediaType    = "urn:syncmesh:problem:unsupported-media-type"
	ProblemCannotApply  = "urn:syncmesh:problem:cannot-apply"
	ProblemUnsupported  = "urn:syncmesh:problem:not-implemented"
	ProblemInternal     = "urn:syncmesh:problem:internal"
	ProblemUnavailable  = "urn:syncmesh:problem:unavailable"
)

// writeProblem sends a problem+json response.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, typ, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: typ, Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: r.URL.Path})
}

// writeJSON sends v as JSON with status 200.
func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

// writeJSONStatus sends v as JSON with the given status.
func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
