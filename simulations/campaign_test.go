package simulations

import (
	"os"
	"strconv"
	"testing"
)

// TestCampaign runs at least 50 random fault schedules on small meshes
// (SIM_CAMPAIGN_SEEDS raises the count; SIM_CAMPAIGN_FIRST picks the first
// seed). A failure names its seed and the scenario file that reproduces it.
func TestCampaign(t *testing.T) {
	seeds := 50
	if v, err := strconv.Atoi(os.Getenv("SIM_CAMPAIGN_SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	first := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("SIM_CAMPAIGN_FIRST"), 10, 64); err == nil && v > 0 {
		first = v
	}
	res, err := RunCampaign(CampaignConfig{Seeds: seeds, FirstSeed: first, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != seeds {
		t.Fatalf("ran %d, want %d", res.Runs, seeds)
	}
	for _, f := range res.Failures {
		t.Errorf("seed %d failed (scenario saved as %s):\n%v", f.Seed, f.File, f.Violation)
	}
}

// TestRandomScenarioValid: generated schedules validate and are a pure
// function of the seed.
func TestRandomScenarioValid(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		sc := RandomScenario(seed, 12, 80)
		if err := sc.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if string(sc.Encode()) != string(RandomScenario(seed, 12, 80).Encode()) {
			t.Fatalf("seed %d: two different schedules", seed)
		}
		back, err := ParseScenario(sc.Encode(), true)
		if err != nil || string(back.Encode()) != string(sc.Encode()) {
			t.Fatalf("seed %d: saved scenario does not round-trip: %v", seed, err)
		}
	}
}
