package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/httpapi"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

// TestMain fails the package if a test leaves a goroutine behind (with
// time for memberlist's probe timers, which the sim tests may start).
func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }

func runCLI(t *testing.T, vars map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), &env{stdin: strings.NewReader(stdin), stdout: &o, stderr: &e,
		getenv: func(k string) string { return vars[k] }}, args)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // substring
		stdout string
	}{
		{"no command", nil, 2, "usage: syncmesh <command>", ""},
		{"help", []string{"help"}, 0, "", "commands:"},
		{"help command", []string{"help", "demo"}, 0, "usage: syncmesh demo", ""},
		{"unknown command", []string{"frob"}, 2, `unknown command "frob"`, ""},
		{"demo help", []string{"demo", "--help"}, 0, "-partition duration", ""},
		{"demo bad flag", []string{"demo", "--nodes=x"}, 2, `invalid value "x" for flag -nodes`, ""},
		{"demo bad value", []string{"demo", "--nodes", "1"}, 2, "nodes must be between 2 and 50", ""},
		{"demo stray argument", []string{"demo", "extra"}, 2, `unexpected argument "extra"`, ""},
		{"node help", []string{"node", "--help"}, 0, "-data-dir", ""},
		{"node bad bind", []string{"node", "--bind", "nope"}, 2, `--bind "nope": want host:port`, ""},
		{"node bad log format", []string{"node", "--log-format", "xml"}, 2, `--log-format "xml"`, ""},
		{"node bad profile", []string{"node", "--profile", "moon"}, 2, `--profile "moon"`, ""},
		{"node missing token file", []string{"node", "--token-file", "/nonexistent/token"}, 1, "--token-file", ""},
		{"set needs two args", []string{"set", "/x"}, 2, "set takes pointer json-value", ""},
		{"set needs JSON", []string{"set", "/x", "hello"}, 2, `value "hello" is not JSON`, ""},
		{"set needs a pointer", []string{"set", "x", "1"}, 2, `"x" is not a JSON Pointer`, ""},
		{"bad addr", []string{"get", "--addr", "ftp://x"}, 2, "--addr", ""},
		{"get help", []string{"get", "--help"}, 0, "usage: syncmesh get [flags] [pointer]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || !strings.Contains(stdout, tt.stdout) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
		})
	}
}

// fakeNode is a minimal httpapi.Node for the client commands.
type fakeNode struct{ state draft.Value }

func (f *fakeNode) State() draft.Value { return f.state }
func (f *fakeNode) Update(_ context.Context, r func(*draft.Draft) error) error {
	next, _, _, err := draft.Produce(f.state, r)
	if err == nil {
		f.state = next
	}
	return err
}
func (f *fakeNode) Watch(context.Context) <-chan mesh.Event { return make(chan mesh.Event) }
func (f *fakeNode) Members() []mesh.Member {
	return []mesh.Member{{Name: "a", Addr: "127.0.0.1:1"}}
}
func (f *fakeNode) Status() mesh.Status { return mesh.Status{Name: "a", Members: 1} }

func TestClientCommands(t *testing.T) {
	node := &fakeNode{state: draft.EmptyMap()}
	h, err := httpapi.New(httpapi.Config{Node: node, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	env := map[string]string{"SYNCMESH_ADDR": srv.URL, "SYNCMESH_TOKEN": "tok"}
	steps := []struct {
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"set", "/todos", `["a"]`}},
		{args: []string{"set", "/todos/-", `"b"`}},
		{args: []string{"patch", "-"}, stdin: `[{"op":"add","path":"/n","value":1}]`},
		{args: []string{"get", "/todos/1"}, stdout: `"b"`},
		{args: []string{"get"}, stdout: "{\n  \"n\": 1,\n  \"todos\": [\n    \"a\",\n    \"b\"\n  ]\n}\n"},
		{args: []string{"delete", "/n"}},
		{args: []string{"get", "/n"}, code: 1, stderr: `404 Not Found: no value at "/n"`},
		{args: []string{"patch", "-"}, stdin: `[{"op":"test","path":"/todos/0","value":"z"}]`, code: 1, stderr: "409 Conflict"},
		{args: []string{"members"}, stdout: "a     127.0.0.1:1  (this node)"},
		{args: []string{"status"}, stdout: `"name": "a"`},
		{args: []string{"conflicts", "/todos"}, code: 1, stderr: "501 Not Implemented"},
	}
	for _, s := range steps {
		code, stdout, stderr := runCLI(t, env, s.stdin, s.args...)
		if code != s.code || !strings.Contains(stdout, s.stdout) || !strings.Contains(stderr, s.stderr) {
			t.Fatalf("%v: exit %d, want %d\nstdout: %q\nstderr: %s", s.args, code, s.code, stdout, stderr)
		}
	}
	// Writes without the token are refused.
	code, _, stderr := runCLI(t, map[string]string{"SYNCMESH_ADDR": srv.URL}, "", "set", "/x", "1")
	if code != 1 || !strings.Contains(stderr, "401 Unauthorized") {
		t.Fatalf("write without token: exit %d, %s", code, stderr)
	}
}
