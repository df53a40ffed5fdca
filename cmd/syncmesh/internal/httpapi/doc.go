// Package httpapi serves a syncmesh node over HTTP: the JSON state API,
// RFC 6902 patches, conflicts, a Server-Sent Events change stream,
// membership, status, Prometheus metrics, a health check, and the embedded
// dashboard at "/". docs/http-api.md documents every endpoint.
//
// Invariants:
//   - PATCH /v1/state applies the whole patch document inside one
//     Node.Update: all operations or none, one change for the mesh.
//   - Every error response is application/problem+json (RFC 9457) with the
//     status: 400 malformed request, 401 missing or wrong bearer token,
//     404 missing path, 409 failed "test", 413 body over MaxBodyBytes,
//     415 wrong content type, 422 a patch that is well-formed but cannot
//     apply to the current state, 501 a capability the node lacks.
//   - Request bodies are read through http.MaxBytesReader; nothing reads
//     an unbounded body.
//   - The watch stream never blocks the mesh: each subscriber reads its own
//     bounded Node.Watch channel, which drops (and counts) when it is slow.
//
// Usage:
//
//	h, err := httpapi.New(httpapi.Config{Node: node, Gatherer: reg})
//	srv := &http.Server{Addr: "127.0.0.1:7947", Handler: h}
package httpapi
