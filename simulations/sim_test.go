package simulations

import (
	"testing"
)

func TestBaseline(t *testing.T) {
	sc, err := LoadScenario("scenarios/baseline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{Source: "simulations/scenarios/baseline.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Markdown())
}
