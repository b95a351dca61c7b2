package soak

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws the controller's RSS and goroutines over the soak, one
// panel each, with the Vault restarts marked, as a PNG at path.
func writePlot(path string, r report) error {
	if len(r.samples) == 0 {
		return fmt.Errorf("no samples")
	}
	var restarts []float64
	for _, e := range r.events {
		if e.kind == "vault restart" {
			restarts = append(restarts, e.at.Sub(r.soakStart).Minutes())
		}
	}
	title := fmt.Sprintf("latchkey controller, %d Syncs, %s soak (dashed: Vault restarts)", r.n, *duration)
	rss, err := panel(title, "RSS (MiB)", r.samples, restarts, func(s sample) float64 { return mib(float64(s.rss)) })
	if err != nil {
		return err
	}
	gor, err := panel("", "goroutines", r.samples, restarts, func(s sample) float64 { return s.goroutines })
	if err != nil {
		return err
	}
	gor.X.Label.Text = "minutes since the soak started"

	img := vgimg.New(9*vg.Inch, 6*vg.Inch)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	plots := [][]*plot.Plot{{rss}, {gor}}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func panel(title, ylabel string, samples []sample, marks []float64, value func(sample) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, max(duration.Minutes(), samples[len(samples)-1].at.Minutes())
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	xys := make(plotter.XYs, len(samples))
	top := 0.0
	for i, s := range samples {
		xys[i].X, xys[i].Y = s.at.Minutes(), value(s)
		top = max(top, xys[i].Y)
	}
	// Headroom, so a flat line is not drawn against the frame.
	p.Y.Max = top * 1.25
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, err
	}
	line.Color = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	points.Color = line.Color
	p.Add(line, points)
	for _, m := range marks {
		mark, err := plotter.NewLine(plotter.XYs{{X: m, Y: 0}, {X: m, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		mark.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
		mark.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(mark)
	}
	return p, nil
}
