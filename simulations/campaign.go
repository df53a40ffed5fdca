package simulations

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CampaignConfig configures a campaign: many runs, each with a random fault
// schedule drawn from its seed.
type CampaignConfig struct {
	// Seeds is the number of runs. Default 50.
	Seeds int
	// FirstSeed is the seed of the first run; run i uses FirstSeed+i.
	// Default 1.
	FirstSeed uint64
	// Nodes per run. Default 12: small meshes run fast and still show
	// every fault.
	Nodes int
	// Writes per run. Default 80.
	Writes int
	// OutDir receives, for each failing run, a scenario file that
	// reproduces it. Default "" (the current directory).
	OutDir string
	// Progress, when non-nil, gets one line per run.
	Progress io.Writer
}

// CampaignFailure is one failing run of a campaign.
type CampaignFailure struct {
	Seed      uint64
	File      string // the scenario file that reproduces it
	Violation error
}

// CampaignResult summarises a campaign.
type CampaignResult struct {
	Runs     int
	Failures []CampaignFailure
	// Reports are the passing runs' reports, in seed order.
	Reports []*Report
}

// RandomScenario returns the scenario a campaign runs for seed: a small
// mesh with one to four faults of random kinds, times and targets, all
// drawn from seed.
func RandomScenario(seed uint64, nodes, writes int) Scenario {
	rng := newRand(seed, 99)
	c := 0.1 + 0.3*rng.Float64()
	sc := Scenario{
		Name:     fmt.Sprintf("campaign-%d", seed),
		Seed:     seed,
		Nodes:    nodes,
		Network:  NetworkParams{Latency: ms(1 + rng.IntN(5)), Jitter: ms(rng.IntN(5))},
		Workload: Workload{Writes: writes, Rate: 20 + float64(rng.IntN(40)), Keys: 5 + rng.IntN(30), Conflict: &c, Start: ms(300)},
	}
	if rng.IntN(2) == 0 {
		sc.Workload.Distribution = "zipf"
	}
	if rng.IntN(3) == 0 {
		sc.Mesh.SnapshotMissingOps = 20 // exercise snapshot catch-up
	}
	span := 300 + int(float64(writes)/sc.Workload.Rate*1000) // the workload's window, ms
	at := func() Duration { return ms(rng.IntN(span)) }
	window := func(f Fault) Fault {
		f.At = at()
		f.Until = f.At + ms(200+rng.IntN(3000))
		return f
	}
	kinds := []string{FaultLoss, FaultBurstLoss, FaultDelay, FaultDuplicate, FaultReorder, FaultPartition,
		FaultFlap, FaultCrash, FaultSkew, FaultJump, FaultJoin, FaultLeave}
	total := nodes
	for range 1 + rng.IntN(4) {
		var f Fault
		switch k := kinds[rng.IntN(len(kinds))]; k {
		case FaultLoss:
			f = window(Fault{Kind: k, Rate: 0.1 + 0.5*rng.Float64()})
		case FaultBurstLoss:
			f = window(Fault{Kind: k, Rate: 0.05 * rng.Float64(), EnterBad: 0.02 + 0.2*rng.Float64(), ExitBad: 0.1 + 0.5*rng.Float64(), BadLoss: 0.5 + 0.5*rng.Float64()})
		case FaultDelay:
			f = window(Fault{Kind: k, Latency: ms(rng.IntN(200)), Jitter: ms(rng.IntN(200))})
		case FaultDuplicate:
			f = window(Fault{Kind: k, Rate: rng.Float64()})
		case FaultReorder:
			f = window(Fault{Kind: k, Rate: rng.Float64(), Extra: ms(1 + rng.IntN(500))})
		case FaultPartition:
			modes := []string{"halves", "bridge", "oneway", "isolate"}
			f = window(Fault{Kind: k, Mode: modes[rng.IntN(len(modes))], Node: rng.IntN(nodes)})
			if f.Mode == "halves" || f.Mode == "oneway" {
				f.Node = 0
			}
		case FaultFlap:
			f = window(Fault{Kind: k, Period: ms(100 + rng.IntN(800))})
		case FaultCrash:
			f = Fault{Kind: k, At: at(), Node: rng.IntN(nodes), Disk: rng.IntN(2) == 0}
			if rng.IntN(4) != 0 {
				f.Restart = ms(100 + rng.IntN(3000))
			}
		case FaultSkew:
			f = Fault{Kind: k, At: at(), Node: rng.IntN(nodes), Offset: ms(rng.IntN(4000) - 2000)}
		case FaultJump:
			f = Fault{Kind: k, At: at(), Node: rng.IntN(nodes), Offset: ms(rng.IntN(8000) - 4000)}
		case FaultJoin:
			f = Fault{Kind: k, At: at(), Count: 1 + rng.IntN(3)}
			total += f.Count
		case FaultLeave:
			f = Fault{Kind: k, At: at(), Node: rng.IntN(total)}
		}
		sc.Faults = append(sc.Faults, f)
	}
	return sc
}

// RunCampaign runs cfg.Seeds random fault schedules. A failing run's
// scenario is written to OutDir as campaign-<seed>.json, and the failure
// names it; the error is non-nil only when a file cannot be written.
func RunCampaign(cfg CampaignConfig) (CampaignResult, error) {
	if cfg.Seeds <= 0 {
		cfg.Seeds = 50
	}
	if cfg.FirstSeed == 0 {
		cfg.FirstSeed = 1
	}
	if cfg.Nodes <= 0 {
		cfg.Nodes = 12
	}
	if cfg.Writes <= 0 {
		cfg.Writes = 80
	}
	var res CampaignResult
	for i := range cfg.Seeds {
		seed := cfg.FirstSeed + uint64(i)
		sc := RandomScenario(seed, cfg.Nodes, cfg.Writes)
		file := filepath.Join(cfg.OutDir, sc.Name+".json")
		res.Runs++
		s, err := New(sc, Options{Source: file})
		var r *Report
		if err == nil {
			r, err = s.Run()
		}
		if err != nil {
			if werr := os.WriteFile(file, sc.Encode(), 0o644); werr != nil {
				return res, fmt.Errorf("simulations: saving failing scenario: %w", werr)
			}
			res.Failures = append(res.Failures, CampaignFailure{Seed: seed, File: file, Violation: err})
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "seed %d: FAIL %v\n", seed, err)
			}
			continue
		}
		res.Reports = append(res.Reports, r)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "seed %d: ok  %d faults, p99 %.0f ms\n", seed, len(sc.Faults), r.WriteConvergence.P99)
		}
	}
	return res, nil
}
