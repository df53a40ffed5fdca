package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/client"
	"github.com/syncmesh/syncmesh/mesh/meshtest"
)

// buildBinary builds syncmesh into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and starts processes; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "syncmesh")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is one `syncmesh node` process.
type proc struct {
	name, dataDir string
	cmd           *exec.Cmd
	mesh, http    string // addresses printed on stdout
	stderr        *meshtest.Buffer
	exited        chan error
	stopped       bool // set by stop; only the test goroutine calls stop
	exitErr       error
}

// startNode starts a node process and waits for its listener lines.
func startNode(t *testing.T, bin, name, dataDir, bind string, join ...string) *proc {
	t.Helper()
	args := []string{"node", "--name", name, "--bind", bind, "--http", "127.0.0.1:0",
		"--data-dir", dataDir, "--profile", "local", "--log-level", "debug"}
	for _, j := range join {
		args = append(args, "--join", j)
	}
	p := &proc{name: name, dataDir: dataDir, cmd: exec.Command(bin, args...), stderr: &meshtest.Buffer{},
		exited: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(20 * time.Second)
	for p.mesh == "" || p.http == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited before serving: %v\n%s", name, p.cmd.Wait(), p.stderr)
			}
			if a, ok := strings.CutPrefix(l, "mesh "); ok {
				p.mesh = a
			}
			if a, ok := strings.CutPrefix(l, "http "); ok {
				p.http = strings.TrimSuffix(a, "/")
			}
		case <-timeout:
			_ = p.cmd.Process.Kill()
			t.Fatalf("%s did not print its addresses\n%s", name, p.stderr)
		}
	}
	go func() {
		for range lines {
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	return p
}

// stop signals the process and waits for it to exit (idempotent).
func (p *proc) stop(t *testing.T, sig syscall.Signal) error {
	if p.stopped {
		return p.exitErr
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(sig)
	select {
	case p.exitErr = <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		p.exitErr = <-p.exited
		t.Errorf("%s did not stop within 15 s after %v", p.name, sig)
	}
	return p.exitErr
}

func (p *proc) client(t *testing.T) *client.Client {
	c, err := client.New(p.http, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitUntil polls cond every 50 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", d, what, detail)
		}
		<-tick.C
	}
}

// states returns each node's state as canonical JSON.
func states(t *testing.T, ps []*proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		b, err := p.client(t).State(context.Background(), "")
		if err != nil {
			out[i] = "error: " + err.Error()
			continue
		}
		out[i] = strings.TrimSpace(string(b))
	}
	return out
}

func converged(t *testing.T, ps []*proc, wantKeys int) (bool, string) {
	ss := states(t, ps)
	for _, s := range ss[1:] {
		if s != ss[0] {
			return false, strings.Join(ss, "\n")
		}
	}
	var m struct{ K map[string]any }
	if err := json.Unmarshal([]byte(ss[0]), &m); err != nil || len(m.K) != wantKeys {
		return false, fmt.Sprintf("%d keys, want %d: %s", len(m.K), wantKeys, ss[0])
	}
	return true, ""
}

// crashWhileWriting runs writers against p, SIGKILLs p once enough writes
// were acknowledged (or a deadline passed), and returns the keys under /K of
// every write p acknowledged.
func crashWhileWriting(t *testing.T, p *proc) []string {
	t.Helper()
	const writers, minAcked = 4, 60
	var mu sync.Mutex
	var acked []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.client(t)
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("crash-%d-%d", w, i)
				patch := fmt.Sprintf(`[{"op":"add","path":"/K/%s","value":%d}]`, key, i)
				if err := c.Patch(ctx, []byte(patch)); err != nil {
					return // the node is gone (or the test is over)
				}
				mu.Lock()
				acked = append(acked, key)
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitUntil(t, 30*time.Second, "writes acknowledged before the crash", func() (bool, string) {
		return count() >= minAcked, fmt.Sprintf("%d acknowledged", count())
	})
	_ = p.stop(t, syscall.SIGKILL) // while the writers are still writing
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("SIGKILLed %s after %d acknowledged writes", p.name, len(acked))
	return slices.Clone(acked)
}

// missingKeys returns the keys of /K that p's state lacks.
func missingKeys(t *testing.T, p *proc, keys []string) []string {
	t.Helper()
	b, err := p.client(t).State(context.Background(), "/K")
	if err != nil {
		t.Fatalf("reading %s's state: %v", p.name, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s's /K: %v: %s", p.name, err, b)
	}
	var missing []string
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// freePort returns a loopback address whose port is free for both TCP and
// UDP (memberlist binds both) and lies below the kernel's ephemeral range
// when that is known, so that an outgoing connection of another test cannot
// take it between this check and the node's bind (it did once: "bind:
// address already in use" for a port picked from the ephemeral range).
func freePort(t *testing.T) string {
	t.Helper()
	lo, hi := 20000, 32767
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var elo, ehi int
		if _, err := fmt.Sscan(string(b), &elo, &ehi); err == nil && elo > 1024 {
			lo, hi = max(1024, elo-12000), elo-1
		}
	}
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", lo+rand.IntN(hi-lo+1)) // any free port will do: no seed to print
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = u.Close()
		return addr
	}
	t.Fatalf("no port free for TCP and UDP in %d-%d", lo, hi)
	return ""
}

// TestThreeProcesses builds the binary, starts three nodes, writes through
// all three HTTP APIs concurrently and checks that they converge; then
// SIGKILLs one while clients write through it, restarts it on its data
// directory and checks it kept every write it acknowledged (issue 6's crash
// test) and reconverges.
func TestThreeProcesses(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	n1 := startNode(t, bin, "n1", filepath.Join(dir, "n1"), "127.0.0.1:0")
	n2 := startNode(t, bin, "n2", filepath.Join(dir, "n2"), "127.0.0.1:0", n1.mesh)
	n3bind := freePort(t)
	n3 := startNode(t, bin, "n3", filepath.Join(dir, "n3"), n3bind, n1.mesh)
	ps := []*proc{n1, n2, n3}
	waitUntil(t, 15*time.Second, "three members everywhere", func() (bool, string) {
		for _, p := range ps {
			b, err := p.client(t).GetJSON(context.Background(), "/healthz")
			if err != nil || !strings.Contains(string(b), `"members":3`) {
				return false, fmt.Sprintf("%s: %s %v", p.name, b, err)
			}
		}
		return true, ""
	})

	// The client commands of the same binary, against n1.
	if out, err := exec.Command(bin, "set", "--addr", n1.http, "/K", "{}").CombinedOutput(); err != nil {
		t.Fatalf("syncmesh set: %v\n%s", err, out)
	}
	waitUntil(t, 10*time.Second, "/K everywhere", func() (bool, string) { return converged(t, ps, 0) })

	const perNode = 20
	var wg sync.WaitGroup
	for _, p := range ps {
		c := p.client(t)
		for i := range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				patch := fmt.Sprintf(`[{"op":"add","path":"/K/%s-%d","value":%d}]`, p.name, i, i)
				if err := c.Patch(context.Background(), []byte(patch)); err != nil {
					t.Errorf("patch via %s: %v", p.name, err)
				}
			}()
		}
	}
	wg.Wait()
	start := time.Now()
	waitUntil(t, 15*time.Second, "convergence after concurrent writes", func() (bool, string) {
		return converged(t, ps, 3*perNode)
	})
	t.Logf("3 processes converged on %d concurrent writes in %v", 3*perNode, time.Since(start))

	out, err := exec.Command(bin, "get", "--addr", n2.http, "/K/n3-7").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "7" {
		t.Fatalf("syncmesh get via n2: %q %v", out, err)
	}

	// The crash test (issue 6): clients keep writing through n3 and record
	// every write n3 acknowledged; n3 is SIGKILLed mid-stream.
	acked := crashWhileWriting(t, n3)
	if err := n1.client(t).Patch(context.Background(), []byte(`[{"op":"add","path":"/K/while-n3-down","value":true}]`)); err != nil {
		t.Fatal(err)
	}
	// Restarted alone (no --join, another port), n3 must hold every
	// acknowledged write from its own data directory.
	alone := startNode(t, bin, "n3", n3.dataDir, "127.0.0.1:0")
	if missing := missingKeys(t, alone, acked); len(missing) > 0 {
		t.Fatalf("n3 restarted on its data directory lacks %d of %d acknowledged writes, e.g. %v\n%s",
			len(missing), len(acked), missing[:min(5, len(missing))], alone.stderr)
	}
	if err := alone.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("n3 (alone) exited with %v after SIGTERM\n%s", err, alone.stderr)
	}
	// Restarted in the mesh, on its old address, it reconverges.
	n3 = startNode(t, bin, "n3", n3.dataDir, n3bind, n1.mesh)
	ps[2] = n3
	waitUntil(t, 30*time.Second, "the restarted node to reconverge", func() (bool, string) {
		ss := states(t, ps)
		for _, s := range ss[1:] {
			if s != ss[0] {
				return false, strings.Join(ss, "\n")
			}
		}
		if !strings.Contains(ss[0], `"while-n3-down":true`) {
			return false, "the write made while n3 was down is missing: " + ss[0]
		}
		return true, ""
	})
	if missing := missingKeys(t, n3, acked); len(missing) > 0 {
		t.Fatalf("after reconverging, n3 lacks %d acknowledged writes, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}

	// A clean stop: SIGTERM, exit status 0, a leave announced.
	if err := n2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("n2 exited with %v after SIGTERM\n%s", err, n2.stderr)
	}
	if !strings.Contains(n2.stderr.String(), "msg=stopped") {
		t.Errorf("n2's log lacks the stop line:\n%s", n2.stderr)
	}
	waitUntil(t, 10*time.Second, "n1 to see n2 leave", func() (bool, string) {
		b, err := n1.client(t).GetJSON(context.Background(), "/healthz")
		return err == nil && strings.Contains(string(b), `"members":2`), string(b)
	})
}
