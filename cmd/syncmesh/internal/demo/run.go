package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/syncmesh/syncmesh/cmd/syncmesh/internal/strategy"
	"github.com/syncmesh/syncmesh/crdt"
	"github.com/syncmesh/syncmesh/draft"
	"github.com/syncmesh/syncmesh/mesh"
)

// ErrDiverged reports a run whose nodes did not agree before the timeout.
var ErrDiverged = errors.New("demo: nodes did not converge")

// Report is what a run measured.
type Report struct {
	// Converged is true when every node ended with an equal state and an
	// equal version vector.
	Converged bool
	// ConvergeTime is the time from the last conflicting edit (or from the
	// heal, with a partition) until every node agreed.
	ConvergeTime time.Duration
	// Ops is the number of operations every node holds at the end.
	Ops uint64
	// State is node1's final state.
	State draft.Value
}

// Strategies is the demo's conflict strategy table: counters sum, the high
// score keeps the maximum, the colour keeps every concurrent value, the
// title is last-writer-wins (also the default).
func Strategies() *crdt.Strategies {
	return crdt.NewStrategies().
		MustSet("/counters/*", crdt.Count()).
		MustSet("/highscore", crdt.Maximum()).
		MustSet("/color", crdt.Multi()).
		MustSet("/title", crdt.LWW())
}

const initialState = `{
  "title": "Weekend trip",
  "todos": [{"text": "book tickets"}, {"text": "buy milk"}],
  "counters": {"visits": 0},
  "highscore": 0,
  "color": "blue"
}`

// Run runs the demo. It returns ErrDiverged (with the report) when the
// nodes did not agree in time, and other errors when the demo could not
// run at all.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg.fill()
	outer := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	out := cfg.Out
	start := time.Now()

	fmt.Fprintf(out, "Starting %d nodes on 127.0.0.1 over memberlist (UDP gossip + TCP)", cfg.Nodes)
	if cfg.Loss > 0 {
		fmt.Fprintf(out, ", dropping %.0f%% of UDP packets", cfg.Loss*100)
	}
	fmt.Fprintln(out, "...")
	c, err := StartCluster(ctx, ClusterConfig{Nodes: cfg.Nodes, Loss: cfg.Loss, Seed: cfg.Seed,
		Strategies: Strategies(), Logger: cfg.Logger})
	if err != nil {
		return Report{}, err
	}
	defer c.Close()
	fmt.Fprintf(out, "  %d nodes joined in %s:", cfg.Nodes, ms(time.Since(start)))
	for _, n := range c.Nodes {
		fmt.Fprintf(out, " %s@%s", n.Name(), n.Addr())
	}
	fmt.Fprintln(out)
	webURL := ""
	if cfg.Web != "" {
		ws, err := c.Serve(cfg.Web, 0)
		if err != nil {
			return Report{}, err
		}
		defer ws.Close()
		webURL = ws.URL
		fmt.Fprintf(out, "  node1's dashboard: %s/\n", webURL)
	}

	// Seed the shared state on node1 and let it spread.
	if err := c.Nodes[0].Update(ctx, func(d *draft.Draft) error {
		v, err := draft.ParseJSON([]byte(initialState))
		if err != nil {
			return err
		}
		for k, x := range v.Range() {
			if err := d.Set(draft.P(k), x); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return Report{}, fmt.Errorf("demo: seeding the state: %w", err)
	}
	fmt.Fprintf(out, "\nnode1 writes the initial state: %s\n", compact(initialState))
	seedStart := time.Now()
	if err := c.waitConverged(ctx, out, cfg.Progress, seedStart); err != nil {
		return Report{}, err
	}
	fmt.Fprintf(out, "  every node has it after %s\n", ms(time.Since(seedStart)))

	var sides [2][]*mesh.Node
	if cfg.Partition > 0 {
		half := (len(c.Nodes) + 1) / 2
		sides = [2][]*mesh.Node{c.Nodes[:half], c.Nodes[half:]}
		var groups, names [2][]string
		for g, side := range sides {
			for _, n := range side {
				groups[g] = append(groups[g], n.Addr())
				names[g] = append(names[g], n.Name())
			}
		}
		c.Net.Partition(groups[0], groups[1])
		fmt.Fprintf(out, "\nPartition: {%s} cannot reach {%s}\n",
			strings.Join(names[0], " "), strings.Join(names[1], " "))
	}

	fmt.Fprintln(out, "\nConcurrent edits, all at once on different nodes:")
	edits := plan(len(c.Nodes))
	for _, e := range edits {
		for _, line := range e.describe {
			fmt.Fprintf(out, "  %-6s %s\n", c.Nodes[e.node].Name(), line)
		}
	}
	if err := c.applyConcurrently(ctx, edits); err != nil {
		return Report{}, err
	}
	edited := time.Now()

	from := edited
	if cfg.Partition > 0 {
		fmt.Fprintf(out, "\nGossiping inside each side for %s...\n", cfg.Partition)
		pctx, pcancel := context.WithTimeout(ctx, cfg.Partition)
		c.watchSides(pctx, out, cfg.Progress, edited, sides)
		pcancel()
		if ctx.Err() != nil {
			return Report{}, fmt.Errorf("demo: timed out during the partition: %w", ctx.Err())
		}
		c.Net.Heal()
		from = time.Now()
		// memberlist may have declared the other side dead; a join through
		// node1 brings everyone back at once instead of after memberlist's
		// gossip-to-the-dead period.
		for _, n := range c.Nodes[1:] {
			_, _ = n.Join(ctx, []string{c.Nodes[0].Addr()})
		}
		fmt.Fprintf(out, "Healed the partition after %s; nodes rejoin through node1.\n", ms(from.Sub(edited)))
	}

	fmt.Fprintln(out, "\nGossiping:")
	rep := Report{}
	err = c.waitConverged(ctx, out, cfg.Progress, from)
	rep.ConvergeTime = time.Since(from)
	rep.Converged = err == nil && c.Converged()
	_, rep.Ops = c.Progress()
	rep.State = c.Nodes[0].State()
	if !rep.Converged {
		fmt.Fprintf(out, "\nNOT CONVERGED after %s: the nodes disagree.\n", ms(rep.ConvergeTime))
		for _, n := range c.Nodes {
			fmt.Fprintf(out, "  %s %s\n", n.Name(), n.State())
		}
		return rep, fmt.Errorf("%w within %s", ErrDiverged, cfg.Timeout)
	}
	st := c.Nodes[0].Status()
	fmt.Fprintf(out, "\nConverged: all %d nodes hold the same state and version vector (%d operations from %d replicas)\n",
		len(c.Nodes), rep.Ops, len(st.Version))
	for k, v := range rep.State.Range() {
		fmt.Fprintf(out, "  %-10s %s\n", k, v)
	}

	fmt.Fprintln(out, "\nHow each conflict was resolved:")
	c.explain(out, len(edits))

	ns := c.Net.Stats()
	fmt.Fprintf(out, "\nConvergence took %s after the last edit", ms(time.Since(edited)))
	if cfg.Partition > 0 {
		fmt.Fprintf(out, " (%s after the heal)", ms(rep.ConvergeTime))
	}
	fmt.Fprintf(out, ".\nUDP packets sent: %d", ns.Sent)
	if cfg.Loss > 0 {
		fmt.Fprintf(out, ", lost: %d", ns.Dropped)
	}
	if cfg.Partition > 0 {
		fmt.Fprintf(out, ", blocked by the partition: %d", ns.Blocked)
	}
	fmt.Fprintln(out, ".")
	fmt.Fprintf(out, "Total run time %s.\n", ms(time.Since(start)))
	if webURL != "" {
		fmt.Fprintf(out, "\nThe mesh keeps running; node1's dashboard is at %s/ . Try, in another shell:\n", webURL)
		fmt.Fprintf(out, "  go run ./cmd/syncmesh set --addr %s /title '\"edited by hand\"'\nCtrl-C to stop.\n", webURL)
		<-outer.Done()
	}
	return rep, nil
}

// edit is one node's batch of conflicting edits (one Update, one change).
type edit struct {
	node     int
	describe []string
	recipe   func(d *draft.Draft) error
}

// plan assigns the conflicting edits to nodes. Writers a and e are node1 and
// the last node; b is node2; c is node3 (node1 when there are two).
func plan(n int) []edit {
	a, b, c, e := 0, 1, 2%n, n-1
	byNode := make([]edit, n)
	for i := range byNode {
		byNode[i].node = i
	}
	add := func(i int, desc string, f func(d *draft.Draft) error) {
		byNode[i].describe = append(byNode[i].describe, desc)
		prev := byNode[i].recipe
		byNode[i].recipe = func(d *draft.Draft) error {
			if prev != nil {
				if err := prev(d); err != nil {
					return err
				}
			}
			return f(d)
		}
	}
	add(a, `deletes todo 0 ("book tickets")`, func(d *draft.Draft) error {
		return d.Delete(draft.MustParsePointer("/todos/0"))
	})
	add(e, `marks todo 0 ("book tickets") done`, func(d *draft.Draft) error {
		return set(d, "/todos/0/done", "true")
	})
	add(a, `sets title "Weekend trip to Lisbon"`, func(d *draft.Draft) error {
		return set(d, "/title", `"Weekend trip to Lisbon"`)
	})
	add(b, `sets title "Weekend trip to Porto"`, func(d *draft.Draft) error {
		return set(d, "/title", `"Weekend trip to Porto"`)
	})
	add(c, "sets highscore 42", func(d *draft.Draft) error { return set(d, "/highscore", "42") })
	add(e, "sets highscore 17", func(d *draft.Draft) error { return set(d, "/highscore", "17") })
	add(a, `sets color "green"`, func(d *draft.Draft) error { return set(d, "/color", `"green"`) })
	add(e, `sets color "red"`, func(d *draft.Draft) error { return set(d, "/color", `"red"`) })
	for i := range n {
		text := fmt.Sprintf(`{"text": "todo from node%d"}`, i+1)
		add(i, "appends a todo and adds 1 to counters/visits", func(d *draft.Draft) error {
			v, err := draft.ParseJSON([]byte(text))
			if err != nil {
				return err
			}
			if err := d.Append(draft.MustParsePointer("/todos"), v); err != nil {
				return err
			}
			return d.Increment(draft.MustParsePointer("/counters/visits"), draft.Int(1))
		})
	}
	return byNode
}

// applyConcurrently runs every node's edit at the same moment.
func (c *Cluster) applyConcurrently(ctx context.Context, edits []edit) error {
	var wg sync.WaitGroup
	errs := make([]error, len(edits))
	gate := make(chan struct{})
	for i, e := range edits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			if err := c.Nodes[e.node].Update(ctx, e.recipe); err != nil {
				errs[i] = fmt.Errorf("demo: edit on %s: %w", c.Nodes[e.node].Name(), err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	return errors.Join(errs...)
}

// watchSides prints each side's progress during a partition until ctx
// ends: each side converges on its own operations.
func (c *Cluster) watchSides(ctx context.Context, out io.Writer, every time.Duration, since time.Time, sides [2][]*mesh.Node) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := ""
	for {
		var parts []string
		for _, side := range sides {
			up, ops := c.progressOf(side)
			parts = append(parts, fmt.Sprintf("%s %d/%d have the side's %d operations", bar(up, len(side)), up, len(side), ops))
		}
		if line := strings.Join(parts, " | "); line != last {
			fmt.Fprintf(out, "  %8s  %s\n", "+"+ms(time.Since(since)), line)
			last = line
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// waitConverged polls until the nodes agree, printing a line whenever the
// number of up-to-date nodes changes.
func (c *Cluster) waitConverged(ctx context.Context, out io.Writer, every time.Duration, since time.Time) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := -1
	for {
		up, ops := c.Progress()
		if up != last {
			fmt.Fprintf(out, "  %8s  %s %d/%d nodes have all %d operations\n",
				"+"+ms(time.Since(since)), bar(up, len(c.Nodes)), up, len(c.Nodes), ops)
			last = up
		}
		if up == len(c.Nodes) && c.Converged() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrDiverged, ctx.Err())
		case <-tick.C:
		}
	}
}

// explain prints, from node1's converged document, how each contested
// path was resolved and by which strategy.
func (c *Cluster) explain(out io.Writer, nodes int) {
	n := c.Nodes[0]
	state := n.State()
	show := func(pointer, what string) {
		p := draft.MustParsePointer(pointer)
		kind, pattern := strategy.Of(c.Strategies, state, p)
		v, _ := state.At(p)
		rule := "default"
		if pattern != "" {
			rule = "rule " + pattern
		}
		fmt.Fprintf(out, "  %-16s %s -> %s   [%s, %s]\n", pointer, what, v, kind, rule)
		for _, cf := range n.Conflicts(p) {
			mark := " "
			if cf.Winner {
				mark = "*"
			}
			fmt.Fprintf(out, "  %16s %s %-6s %-24s hlc %s l=%d\n", "", mark, c.NameOf(cf.Replica), cf.Value,
				time.UnixMilli(cf.Timestamp.Wall).UTC().Format("15:04:05.000"), cf.Timestamp.Logical)
		}
	}
	show("/title", "two concurrent writes; the greatest (timestamp, replica) wins (*)")
	show("/highscore", "42 and 17 written concurrently; the maximum wins")
	show("/color", "two concurrent writes; both kept, the application decides")
	show("/counters/visits", fmt.Sprintf("%d concurrent +1s; all counted", nodes))
	todos, _ := state.At(draft.P("todos"))
	fmt.Fprintf(out, "  %-16s %d concurrent appends; all kept, in the same order on every node (%d items)\n",
		"/todos", nodes, todos.Len())
	first, _ := state.At(draft.P("todos", 0))
	fmt.Fprintf(out, "  %-16s delete vs concurrent edit: observed-remove keeps the edit -> %s\n", "/todos/0", first)
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func bar(k, n int) string {
	return "[" + strings.Repeat("#", k) + strings.Repeat(".", n-k) + "]"
}

func compact(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
