package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/mesh/meshtest"
	"github.com/syncmesh/syncmesh/mesh/store"
)

// TestMain fails the package if a test leaves a goroutine behind.
func TestMain(m *testing.M) { os.Exit(meshtest.Main(m.Run)) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"empty name", func(c *Config) { c.Name = "" }, "--name is empty"},
		{"slash in name", func(c *Config) { c.Name = "a/b" }, "must not contain"},
		{"bind", func(c *Config) { c.Bind = "7946" }, `--bind "7946"`},
		{"bind port", func(c *Config) { c.Bind = "127.0.0.1:99999" }, "not 0-65535"},
		{"advertise", func(c *Config) { c.Advertise = "x" }, "--advertise"},
		{"join", func(c *Config) { c.Join = []string{"nohost"} }, `--join "nohost"`},
		{"http", func(c *Config) { c.HTTP = "8080" }, `--http "8080"`},
		{"http off", func(c *Config) { c.HTTP = "" }, ""},
		{"profile", func(c *Config) { c.Profile = "moon" }, `--profile "moon"`},
		{"max body", func(c *Config) { c.MaxBodyBytes = 0 }, "--max-body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Name = "n1"
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want ErrConfig with %q", err, tt.want)
			}
		})
	}
}

func TestReadKeys(t *testing.T) {
	k16 := strings.Repeat("ab", 16)
	k32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, file string
		keys       int
		want       string
	}{
		{"hex and base64 with comments", "# rotation\n" + k16 + "\n\n" + k32 + "\n", 2, ""},
		{"raw base64", base64.RawURLEncoding.EncodeToString(make([]byte, 24)), 1, ""},
		{"empty", "# nothing\n", 0, "holds no key"},
		{"wrong size", base64.StdEncoding.EncodeToString(make([]byte, 20)), 0, "20 bytes"},
		{"garbage", "not a key!", 0, "line 1: not base64 or hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := ReadKeys(path)
			if tt.want != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ReadKeys = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil || len(keys) != tt.keys {
				t.Fatalf("ReadKeys = %d keys, %v; want %d", len(keys), err, tt.keys)
			}
		})
	}
	if _, err := ReadKeys(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing file: %v", err)
	}
}

// running is a Run in a goroutine with the addresses it printed.
type running struct {
	mesh, http string
	cancel     context.CancelFunc
	done       chan error
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	pr, pw := io.Pipe()
	cfg.Out = pw
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := Run(ctx, cfg)
		pw.Close()
		r.done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "mesh "); ok {
			r.mesh = a
		}
		if a, ok := strings.CutPrefix(sc.Text(), "http "); ok {
			r.http = strings.TrimSuffix(a, "/")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if r.http == "" {
		t.Fatalf("Run ended before serving: %v", <-r.done)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("Run did not return within 15 s of cancel")
	}
	close(r.done)
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRunEncryptedPair runs two nodes in-process with a shared key and a
// strategy table, joins them, writes on one and reads on the other, then
// stops both cleanly.
func TestRunEncryptedPair(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))), 0o600); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "strategies.yaml")
	if err := os.WriteFile(table, []byte("/hits: counter\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(name string, join ...string) Config {
		c := DefaultConfig()
		c.Name, c.Bind, c.HTTP, c.Profile = name, "127.0.0.1:0", "127.0.0.1:0", "local"
		c.DataDir, c.KeyFile, c.StrategiesFile, c.Join = filepath.Join(dir, name), key, table, join
		c.LeaveTimeout = time.Second
		return c
	}
	a := start(t, cfg("a"))
	b := start(t, cfg("b", a.mesh))
	if _, err := os.Stat(filepath.Join(dir, "a")); err != nil {
		t.Fatalf("data dir not created: %v", err)
	}
	waitFor(t, "b sees two members", func() bool { return strings.Contains(get(t, b.http+"/healthz"), `"members":2`) })
	req, _ := http.NewRequest("PATCH", a.http+"/v1/state", strings.NewReader(`[{"op":"add","path":"/hits","value":3}]`))
	req.Header.Set("Content-Type", "application/json-patch+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("patch: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, "b has a's write", func() bool { return get(t, b.http+"/v1/state/hits") == "3\n" })
	if m := get(t, a.http+"/metrics"); !strings.Contains(m, "syncmesh_mesh_") || !strings.Contains(m, "go_goroutines") {
		t.Fatalf("metrics lack mesh or Go collectors:\n%.500s", m)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("/x: bogus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"data dir is a file", func(c *Config) { c.DataDir = filepath.Join(file, "sub") }, "--data-dir"},
		{"bad strategies", func(c *Config) { c.StrategiesFile = file }, `unknown strategy "bogus"`},
		{"missing key file", func(c *Config) { c.KeyFile = filepath.Join(dir, "nokey") }, "--key-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Name, c.Bind, c.HTTP, c.DataDir = "n", "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "d")
			tt.mod(&c)
			err := Run(context.Background(), c)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want ErrConfig with %q", err, tt.want)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"XDG_STATE_HOME", "/xdg", "/home/u", "/xdg/syncmesh/n1"},
		{"home", "", "/home/u", "/home/u/.local/state/syncmesh/n1"},
		{"no home", "", "", "syncmesh-data/n1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultDataDir("n1")
			if err != nil || got != tt.want {
				t.Fatalf("DefaultDataDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestRunRefusesDamagedDataDir: a data file that is not a store makes Run
// fail with the store's error, and the file is left as it was.
func TestRunRefusesDamagedDataDir(t *testing.T) {
	dir := t.TempDir()
	junk := bytes.Repeat([]byte("not a bbolt file "), 512)
	path := filepath.Join(dir, store.DataFile)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Name, c.Bind, c.HTTP, c.DataDir = "n", "127.0.0.1:0", "127.0.0.1:0", dir
	err := Run(context.Background(), c)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("Run = %v, want a refusal wrapping store.ErrCorrupt", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, junk) {
		t.Fatal("Run changed the damaged data file")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
