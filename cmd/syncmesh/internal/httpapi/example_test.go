package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/httpapi"
	"github.com/syncmesh/syncmesh/mesh"
)

// Serve a mesh node's state over HTTP. The node is not started: Update
// works before Start, so this example needs no sockets.
func Example() {
	cfg := mesh.LocalConfig()
	cfg.Name = "n1"
	node, err := mesh.New(cfg)
	if err != nil {
		panic(err)
	}
	defer node.Close()
	h, err := httpapi.New(httpapi.Config{Node: node})
	if err != nil {
		panic(err)
	}

	patch := httptest.NewRequest("PATCH", "/v1/state",
		strings.NewReader(`[{"op":"add","path":"/todos","value":["milk"]},{"op":"add","path":"/todos/-","value":"eggs"}]`))
	patch.Header.Set("Content-Type", httpapi.PatchContentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, patch)
	fmt.Println(w.Code)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/state/todos", nil))
	fmt.Print(w.Body)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/state/nope", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output:
	// 204
	// ["milk","eggs"]
	// 404 application/problem+json
}
