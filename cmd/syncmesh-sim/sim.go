package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/syncmesh/syncmesh/simulations"
)

const simAbout = `Convergence simulations (see docs/simulations.md).

  syncmesh-sim run FILE [--seed N] [--out DIR] [--progress] [--cpuprofile F] [--memprofile F [--memprofile-at S]]
      run one scenario (YAML or JSON) on the deterministic simulator; print
      the report as Markdown, or write report.json, report.md and charts to
      DIR. A broken invariant prints its seed and the command to reproduce.
  syncmesh-sim campaign --seeds N [--first S] [--nodes N] [--writes W] [--out DIR]
      run N random fault schedules; a failure prints its seed and writes the
      scenario that reproduces it to DIR.
  syncmesh-sim compare FILE
      run a scenario on the simulator and on real memberlist nodes.`

// simCmd dispatches "syncmesh-sim ...".
func simCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, "usage: syncmesh-sim run|campaign|compare ...\n\n"+simAbout)
		if len(args) == 0 {
			return &usageError{msg: "missing subcommand", printed: true}
		}
		return nil
	}
	// Big meshes allocate fast and keep gigabytes live: GOGC=400 and a
	// memory limit of half the machine, unless GOGC or GOMEMLIMIT is set.
	defer simulations.TuneGC()()
	// Huge pages for the heap, with room reserved up to the memory limit
	// (at most 32 GiB; none when there is no limit).
	reserve := debug.SetMemoryLimit(-1)
	if reserve > 32<<30 {
		reserve = 0
	}
	defer simulations.HugePages(reserve)()
	switch args[0] {
	case "run":
		return simRun(ctx, e, args[1:])
	case "campaign":
		return simCampaign(e, args[1:])
	case "compare":
		return simCompare(ctx, e, args[1:])
	}
	return usagef("unknown sim subcommand %q (want run, campaign or compare)", args[0])
}

// parseWithFile parses flags placed before or after one positional file.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	file := ""
	for {
		if err := parse(fs, args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		if file != "" {
			return "", usagef("one scenario file expected, got %q and %q", file, fs.Arg(0))
		}
		file, args = fs.Arg(0), fs.Args()[1:]
	}
	if file == "" {
		return "", usagef("missing scenario file")
	}
	return file, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func simRun(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "FILE [flags]", simAbout)
	seed := fs.Uint64("seed", 0, "override the scenario's seed")
	out := fs.String("out", "", "write report.json, report.md and charts (PNG) to this directory")
	progress := fs.Bool("progress", false, "show a progress bar even when stderr is not a terminal")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile taken at the end of the run, with the simulation still live, to this file (go tool pprof -sample_index=inuse_space)")
	memprofileAt := fs.Int64("memprofile-at", 0, "take the --memprofile heap profile when the virtual clock reaches this second instead of at the end")
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sc, err := simulations.LoadScenario(file)
	if err != nil {
		return err
	}
	if *seed != 0 {
		sc.Seed = *seed
	}
	opts := simulations.Options{Source: file}
	if *progress || isTerminal(e.stderr) {
		opts.Progress = e.stderr
	}
	var heapErr error
	if *memprofile != "" && *memprofileAt > 0 {
		opts.EverySecond = func(sec int64) {
			if sec == *memprofileAt {
				heapErr = writeHeapProfile(*memprofile)
			}
		}
	}
	sim, err := simulations.New(sc, opts)
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := sim.Run()
	if err != nil {
		return err
	}
	wall := time.Since(start)
	if heapErr != nil {
		return heapErr
	}
	if *memprofile != "" && *memprofileAt <= 0 {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
		runtime.KeepAlive(sim)
	}
	if *out == "" {
		fmt.Fprint(e.stdout, rep.Markdown())
	} else {
		if err := writeReport(*out, rep); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "report written to %s\n", *out)
	}
	fmt.Fprintf(e.stderr, "%s; %.1fs wall\n", rep.Summary(), wall.Seconds())
	return nil
}

// writeHeapProfile writes a heap profile of what is live now: a GC first,
// so the in-use figures are the live heap at this point and not as of the
// last collection.
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeReport(dir string, rep *simulations.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), rep.JSON(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return err
	}
	return simulations.WriteRunCharts(dir, rep)
}

func simCampaign(e *env, args []string) error {
	fs := newFlags(e, "campaign", "[flags]", simAbout)
	seeds := fs.Int("seeds", 50, "number of random fault schedules")
	first := fs.Uint64("first", 1, "seed of the first schedule")
	nodes := fs.Int("nodes", 12, "nodes per run")
	writes := fs.Int("writes", 80, "writes per run")
	out := fs.String("out", ".", "directory for the scenario files of failing runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var progress io.Writer
	if isTerminal(e.stderr) {
		progress = e.stderr
	}
	start := time.Now()
	res, err := simulations.RunCampaign(simulations.CampaignConfig{
		Seeds: *seeds, FirstSeed: *first, Nodes: *nodes, Writes: *writes, OutDir: *out, Progress: progress,
	})
	if err != nil {
		return err
	}
	for _, f := range res.Failures {
		fmt.Fprintf(e.stdout, "FAIL seed %d: %v\n  scenario saved: %s\n  reproduce: go run ./cmd/syncmesh-sim run %s\n", f.Seed, f.Violation, f.File, f.File)
	}
	fmt.Fprintf(e.stderr, "campaign: %d runs, %d failed, seeds %d..%d; %.1fs wall\n",
		res.Runs, len(res.Failures), *first, *first+uint64(*seeds)-1, time.Since(start).Seconds())
	if len(res.Failures) > 0 {
		return fmt.Errorf("%d of %d runs broke an invariant", len(res.Failures), res.Runs)
	}
	return nil
}

func simCompare(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "compare", "FILE", simAbout)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	sc, err := simulations.LoadScenario(file)
	if err != nil {
		return err
	}
	model, real, err := simulations.Compare(ctx, sc)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, simulations.CompareMarkdown(model, real))
	return nil
}
