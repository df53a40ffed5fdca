package simulations

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var (
	colBlue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colOrange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colGreen  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colGrey   = color.RGBA{R: 110, G: 110, B: 110, A: 255}
	colRed    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// WriteRunCharts writes a run's charts into dir: share.png (share of nodes
// holding a write vs time since the write) and bytes.png (bytes sent per
// second vs time).
func WriteRunCharts(dir string, r *Report) error {
	if err := ShareChart(filepath.Join(dir, "share.png"), r); err != nil {
		return err
	}
	return BytesChart(filepath.Join(dir, "bytes.png"), r)
}

func addLine(p *plot.Plot, pts plotter.XYs, c color.Color, dashed bool, name string) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = false
	p.Legend.Left = false
	return p
}

// ShareChart plots the median and p99 time after a write at which each
// share of the live nodes held it, with the epidemic bound marked.
func ShareChart(path string, r *Report) error {
	p := newPlot(fmt.Sprintf("%s: share of nodes holding a write (N=%d)", r.Scenario, r.Nodes),
		"time since the write (ms)", "share of live nodes (%)")
	var med, p99 plotter.XYs
	med = append(med, plotter.XY{X: 0, Y: 0})
	p99 = append(p99, plotter.XY{X: 0, Y: 0})
	for _, s := range r.Share {
		med = append(med, plotter.XY{X: s.MedianMs, Y: s.Share * 100})
		p99 = append(p99, plotter.XY{X: s.P99Ms, Y: s.Share * 100})
	}
	if err := addLine(p, med, colBlue, false, "median write"); err != nil {
		return err
	}
	if err := addLine(p, p99, colOrange, false, "p99 write"); err != nil {
		return err
	}
	if err := addLine(p, plotter.XYs{{X: r.EpidemicBoundMs, Y: 0}, {X: r.EpidemicBoundMs, Y: 100}}, colGrey, true, "epidemic bound"); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Y.Min, p.Y.Max = 0, 101
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// BytesChart plots bytes sent per second (gossip and streams, all nodes)
// per node vs time.
func BytesChart(path string, r *Report) error {
	p := newPlot(fmt.Sprintf("%s: traffic (N=%d)", r.Scenario, r.Nodes), "time (s)", "bytes sent per node per s")
	var pts plotter.XYs
	for i, b := range r.BytesPerSec {
		pts = append(pts, plotter.XY{X: float64(i) + 0.5, Y: float64(b) / float64(max(r.Nodes, 1))})
	}
	if len(pts) == 0 {
		pts = plotter.XYs{{X: 0, Y: 0}}
	}
	if err := addLine(p, pts, colBlue, false, "bytes / node / s"); err != nil {
		return err
	}
	p.Y.Min = 0
	return p.Save(6*vg.Inch, 3.5*vg.Inch, path)
}

// ScalePoint is one row of the convergence-vs-N study.
type ScalePoint struct {
	Nodes int     `json:"nodes"`
	Loss  float64 `json:"loss"`
	// Reach9999P50 is the median time until 99.99 % of the nodes held a
	// write; ConvP99 the p99 time until all did.
	Reach9999P50 float64 `json:"reach_99_99_p50_ms"`
	ConvP50      float64 `json:"conv_p50_ms"`
	ConvP99      float64 `json:"conv_p99_ms"`
	BoundMs      float64 `json:"epidemic_bound_ms"`
}

// SerfReference is Serf's published simulator figure: time for 99.99 % of
// N nodes to receive a message at fanout 3 and 200 ms gossip.
var SerfReference = []ScalePoint{{Nodes: 10, Reach9999P50: 1600}, {Nodes: 100, Reach9999P50: 2000}, {Nodes: 1000, Reach9999P50: 2200}}

// ScaleChart plots convergence time vs N (log scale) for each loss rate
// studied, beside the epidemic bound and Serf's published numbers.
func ScaleChart(path string, pts []ScalePoint, fanout int, intervalMs float64) error {
	p := newPlot(fmt.Sprintf("convergence time vs N (fanout %d, %g ms)", fanout, intervalMs), "nodes (log scale)", "time (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	byLoss := map[float64]plotter.XYs{}
	var losses []float64
	maxN := 10
	for _, s := range pts {
		if _, ok := byLoss[s.Loss]; !ok {
			losses = append(losses, s.Loss)
		}
		byLoss[s.Loss] = append(byLoss[s.Loss], plotter.XY{X: float64(s.Nodes), Y: s.ConvP50})
		maxN = max(maxN, s.Nodes)
	}
	cols := []color.Color{colBlue, colOrange, colGreen}
	for i, l := range losses {
		if err := addLine(p, byLoss[l], cols[i%len(cols)], false, fmt.Sprintf("simulated p50, %.0f %% loss", l*100)); err != nil {
			return err
		}
	}
	var bound plotter.XYs
	for n := 10.0; n <= float64(maxN)*1.001; n *= math.Pow(10, 0.25) {
		bound = append(bound, plotter.XY{X: n, Y: EpidemicBound(int(math.Round(n)), fanout, intervalMs)})
	}
	if err := addLine(p, bound, colGrey, true, "epidemic bound"); err != nil {
		return err
	}
	var serf plotter.XYs
	for _, s := range SerfReference {
		serf = append(serf, plotter.XY{X: float64(s.Nodes), Y: s.Reach9999P50})
	}
	sc, err := plotter.NewScatter(serf)
	if err != nil {
		return err
	}
	sc.Color = colRed
	sc.Radius = vg.Points(4)
	p.Add(sc)
	p.Legend.Add("Serf simulator (99.99 %)", sc)
	p.Legend.Top, p.Legend.Left = false, false
	p.Y.Min = 0
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
