package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testState = `{"title":"trip","todos":[{"text":"milk"}],"n":1}`

type request struct {
	method, path, ctype, body, token string
}

func do(t *testing.T, h http.Handler, rq request) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
	if rq.ctype != "" {
		r.Header.Set("Content-Type", rq.ctype)
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newHandler(t *testing.T, cfg Config) *Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandlers(t *testing.T) {
	const jp = PatchContentType
	tests := []struct {
		name      string
		cfg       func(*Config)
		req       request
		status    int
		problem   string // expected problem type, for errors
		body      string // substring of the body
		wantState string // state after the request, when set
	}{
		{name: "state", req: request{method: "GET", path: "/v1/state"}, status: 200,
			body: `{"n":1,"title":"trip","todos":[{"text":"milk"}]}`},
		{name: "state at pointer", req: request{method: "GET", path: "/v1/state/todos/0/text"}, status: 200,
			body: `"milk"`},
		{name: "state at escaped pointer", req: request{method: "GET", path: "/v1/state/a~1b"}, status: 404,
			problem: ProblemNotFound, body: `no value at \"/a~1b\"`},
		{name: "state missing path", req: request{method: "GET", path: "/v1/state/nope"}, status: 404,
			problem: ProblemNotFound},
		{name: "state malformed pointer", req: request{method: "GET", path: "/v1/state/a~2"}, status: 400,
			problem: ProblemMalformed},
		{name: "patch", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":"test","path":"/n","value":1},{"op":"replace","path":"/n","value":2},{"op":"add","path":"/todos/-","value":{"text":"eggs"}}]`},
			status: 204, wantState: `{"n":2,"title":"trip","todos":[{"text":"milk"},{"text":"eggs"}]}`},
		{name: "patch content type with charset", req: request{method: "PATCH", path: "/v1/state",
			ctype: jp + "; charset=utf-8", body: `[{"op":"remove","path":"/n"}]`},
			status: 204, wantState: `{"title":"trip","todos":[{"text":"milk"}]}`},
		{name: "patch failed test is atomic", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":"replace","path":"/n","value":5},{"op":"test","path":"/title","value":"other"}]`},
			status: 409, problem: ProblemTestFailed, wantState: testState},
		{name: "patch missing path", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":"remove","path":"/nope"}]`}, status: 404, problem: ProblemNotFound, wantState: testState},
		{name: "patch wrong type", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":"add","path":"/title/x","value":1}]`}, status: 422, problem: ProblemCannotApply},
		{name: "patch malformed json", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":`}, status: 400, problem: ProblemMalformed},
		{name: "patch not an array", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `{"op":"remove","path":"/n"}`}, status: 400, problem: ProblemMalformed},
		{name: "patch unknown op", req: request{method: "PATCH", path: "/v1/state", ctype: jp,
			body: `[{"op":"frob","path":"/n"}]`}, status: 400, problem: ProblemMalformed},
		{name: "patch wrong content type", req: request{method: "PATCH", path: "/v1/state",
			ctype: "application/json", body: `[]`}, status: 415, problem: ProblemMediaType},
		{name: "patch no content type", req: request{method: "PATCH", path: "/v1/state", body: `[]`},
			status: 415, problem: ProblemMediaType},
		{name: "patch too large", cfg: func(c *Config) { c.MaxBodyBytes = 16 },
			req: request{method: "PATCH", path: "/v1/state", ctype: jp,
				body: `[{"op":"replace","path":"/n","value":12345678}]`},
			status: 413, problem: ProblemTooLarge, body: "limit of 16 bytes"},
		{name: "patch without token", cfg: func(c *Config) { c.Token = "s3cret" },
			req:    request{method: "PATCH", path: "/v1/state", ctype: jp, body: `[]`},
			status: 401, problem: ProblemUnauthorized, body: "Authorization: Bearer"},
		{name: "patch wrong token", cfg: func(c *Config) { c.Token = "s3cret" },
			req:    request{method: "PATCH", path: "/v1/state", ctype: jp, body: `[]`, token: "guess"},
			status: 401, problem: ProblemUnauthorized, body: "wrong"},
		{name: "patch with token", cfg: func(c *Config) { c.Token = "s3cret" },
			req: request{method: "PATCH", path: "/v1/state", ctype: jp, token: "s3cret",
				body: `[{"op":"replace","path":"/n","value":3}]`},
			status: 204, wantState: `{"n":3,"title":"trip","todos":[{"text":"milk"}]}`},
		{name: "reads need no token", cfg: func(c *Config) { c.Token = "s3cret" },
			req: request{method: "GET", path: "/v1/state/n"}, status: 200, body: "1"},
		{name: "method not allowed", req: request{method: "DELETE", path: "/v1/state"}, status: 405},
		{name: "conflicts at path", req: request{method: "GET", path: "/v1/conflicts?path=/title"}, status: 200,
			body: `{"conflicts":[{"path":"/title","value":"trip","strategy":"lww","rule":"/title","values":[{"value":"trap","replica":"0000000000000007","timestamp":"1970-01-01T00:00:01Z"`},
		{name: "conflicts none at path", req: request{method: "GET", path: "/v1/conflicts?path=/n"}, status: 200,
			body: `{"conflicts":[]}`},
		{name: "conflicts scan", req: request{method: "GET", path: "/v1/conflicts"}, status: 200,
			body: `"path":"/title"`},
		{name: "conflicts scan budget", cfg: func(c *Config) { c.MaxConflictPaths = 1 },
			req: request{method: "GET", path: "/v1/conflicts"}, status: 200, body: `"truncated":true`},
		{name: "conflicts missing path", req: request{method: "GET", path: "/v1/conflicts?path=/nope"},
			status: 404, problem: ProblemNotFound},
		{name: "conflicts malformed path", req: request{method: "GET", path: "/v1/conflicts?path=nope"},
			status: 400, problem: ProblemMalformed},
		{name: "conflicts unsupported", cfg: func(c *Config) { c.Node = onlyNode{c.Node} },
			req: request{method: "GET", path: "/v1/conflicts?path=/title"}, status: 501, problem: ProblemUnsupported},
		{name: "members", req: request{method: "GET", path: "/v1/members"}, status: 200,
			body: `{"self":"a","members":[{"name":"a","addr":"127.0.0.1:1"},{"name":"b","addr":"127.0.0.1:2"}]}`},
		{name: "status", req: request{method: "GET", path: "/v1/status"}, status: 200,
			body: `"sent_messages":{"change":4}`},
		{name: "status peers", req: request{method: "GET", path: "/v1/status"}, status: 200,
			body: `"peers":[{"name":"b","version":{`},
		{name: "healthz", req: request{method: "GET", path: "/healthz"}, status: 200,
			body: `{"status":"ok","name":"a","members":2}`},
		{name: "healthz store failed", cfg: failStore,
			req: request{method: "GET", path: "/healthz"}, status: 503,
			body: `{"status":"failed","name":"a","members":2,"failure":"disk full"}`},
		{name: "status store failed", cfg: failStore,
			req: request{method: "GET", path: "/v1/status"}, status: 200, body: `"durable":true,"failure":"disk full"`},
		{name: "patch store failed", cfg: failStore,
			req:    request{method: "PATCH", path: "/v1/state", ctype: jp, body: `[{"op":"replace","path":"/n","value":3}]`},
			status: 503, problem: ProblemUnavailable, body: "disk full", wantState: testState},
		{name: "metrics", req: request{method: "GET", path: "/metrics"}, status: 200,
			body: "syncmesh_http_requests_total"},
		{name: "dashboard", req: request{method: "GET", path: "/"}, status: 200, body: "<title>syncmesh"},
		{name: "unknown api path", req: request{method: "GET", path: "/v1/nope"}, status: 404,
			problem: ProblemNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newFakeNode(testState)
			node.conflicts["/title"] = []crdt.Conflict{conflict("trap", 7, 1000, false), conflict("trip", 9, 1000, true)}
			cfg := Config{Node: node, Strategies: crdt.NewStrategies().MustSet("/title", crdt.LWW())}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			h := newHandler(t, cfg)
			if tt.name == "metrics" { // count something first
				do(t, h, request{method: "GET", path: "/healthz"})
			}
			w := do(t, h, tt.req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.problem != "" {
				if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q, want application/problem+json", ct)
				}
				var p Problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
					t.Fatalf("problem body %s: %v", w.Body, err)
				}
				if p.Type != tt.problem || p.Status != tt.status || p.Title == "" || p.Detail == "" {
					t.Fatalf("problem %+v, want type %s status %d with title and detail", p, tt.problem, tt.status)
				}
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("body %s lacks %s", w.Body, tt.body)
			}
			if tt.wantState != "" {
				if got := node.State().String(); got != mustCanon(t, tt.wantState) {
					t.Fatalf("state %s, want %s", got, tt.wantState)
				}
			}
		})
	}
}

func mustCanon(t *testing.T, s string) string {
	v, err := draft.ParseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.String()
}

// onlyNode hides the optional interfaces of a Node.
type onlyNode struct{ Node }

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []Config{{}, {Node: newFakeNode(`{}`), MaxBodyBytes: -1},
		{Node: newFakeNode(`{}`), MaxConflictPaths: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestWatch(t *testing.T) {
	node := newFakeNode(testState)
	srv := httptest.NewServer(newHandler(t, Config{Node: node}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/watch", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := readEvents(resp.Body)
	ev := <-events
	if ev.name != "state" || ev.data != mustCanon(t, testState) {
		t.Fatalf("first event %+v, want the state", ev)
	}
	patch := `[{"op":"replace","path":"/n","value":2}]`
	if w := do(t, srv.Config.Handler, request{method: "PATCH", path: "/v1/state", ctype: PatchContentType, body: patch}); w.Code != 204 {
		t.Fatalf("patch: %d %s", w.Code, w.Body)
	}
	for i, want := range []struct {
		local bool
		patch string
	}{{true, `"origins":[{"replica":"0000000000000001","name":"a"}],"patches":[{"op":"replace","path":"/n","value":2`},
		{false, `"origins":[{"replica":"0000000000000002","name":"b"}],"patches":[{"op":"add","path":"/x","value":true`}} {
		if i == 1 { // a remote change, after the local one was streamed
			var remote []draft.Patch
			if err := json.Unmarshal([]byte(`[{"op":"add","path":"/x","value":true}]`), &remote); err != nil {
				t.Fatal(err)
			}
			node.remote(remote)
		}
		ev := <-events
		var we WatchEvent
		if err := json.Unmarshal([]byte(ev.data), &we); err != nil {
			t.Fatalf("event %d %+v: %v", i, ev, err)
		}
		if ev.name != "change" || we.Local != want.local || we.Seq != uint64(i+1) || we.Node != "a" ||
			!strings.Contains(ev.data, want.patch) || we.At.IsZero() {
			t.Fatalf("event %d = %+v, want local=%v with %s", i, ev, want.local, want.patch)
		}
	}
}

type sse struct{ name, id, data string }

// readEvents parses an SSE stream into events until it ends.
func readEvents(r io.Reader) <-chan sse {
	ch := make(chan sse, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

// failStore makes the test's fake node behave as if its store had failed.
func failStore(c *Config) { c.Node.(*fakeNode).failure = "disk full" }
