package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
)

// A chart is one group's figures as a horizontal bar chart of the ratio to
// the floor: the tables are the record, the charts are for reading them at
// a glance. Everything is drawn with integer pixel geometry on a small
// palette and encoded without anything time- or machine-dependent, so the
// same bench.json always gives the same bytes and regenerating a section
// leaves its images unchanged.
type chart struct {
	group string // report.GroupControl...
	file  string // <section>-<group>.png
	png   []byte
}

// Layout, in pixels. The width is fixed so that charts of different groups
// and runs line up in the document; the height grows by one row a figure.
const (
	chartWidth   = 800
	headerHeight = 56 // three lines of text: title, direction, legend
	rowHeight    = 22
	barHeight    = 14
	footerHeight = 30 // the axis and its tick labels
	labelWidth   = 300
	plotLeft     = labelWidth + 10
	valueRoom    = 60 // right of the longest bar: its value label
	plotWidth    = chartWidth - plotLeft - valueRoom
	margin       = 8
)

var (
	background    = color.RGBA{0xff, 0xff, 0xff, 0xff}
	textColour    = color.RGBA{0x20, 0x20, 0x20, 0xff}
	barColour     = color.RGBA{0x46, 0x82, 0xb4, 0xff} // steel blue
	tailColour    = color.RGBA{0x10, 0x2a, 0x43, 0xff}
	floorColour   = color.RGBA{0xd0, 0x30, 0x30, 0xff}
	gridColour    = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	axisColour    = color.RGBA{0x80, 0x80, 0x80, 0xff}
	chartPalette  = color.Palette{background, textColour, barColour, tailColour, floorColour, gridColour, axisColour}
	face          = basicfont.Face7x13
	charWidth     = face.Advance
	maxLabelChars = (labelWidth - margin) / charWidth
)

// barTop is the y of the top edge of the i-th figure's bar.
func barTop(i int) int { return headerHeight + i*rowHeight + (rowHeight-barHeight)/2 }

// renderCharts draws one chart per group that has figures, in the order
// the section shows the groups.
func renderCharts(r *report.Report, section string) ([]chart, error) {
	var out []chart
	for _, g := range report.Groups() {
		figs := r.Group(g)
		if len(figs) == 0 {
			continue
		}
		img := drawChart(section, r.Meta.Date, report.GroupTitle(g), figs)
		var b bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
			return nil, fmt.Errorf("chart of %s: %w", g, err)
		}
		out = append(out, chart{group: g, file: section + "-" + g + ".png", png: b.Bytes()})
	}
	return out, nil
}

// tailRatio is the figure's bad tail (driver p90 of a time, p10 of a
// throughput) against the floor's median; ok is false when there is no
// tail to show (one sample, or the tail is the median).
func tailRatio(f report.Figure) (float64, bool) {
	tail := f.Driver.Tail(f.Better)
	if len(f.Driver.Samples) < 2 || !(f.Floor.Median > 0) || tail == f.Driver.Median || math.IsNaN(tail) {
		return 0, false
	}
	return tail / f.Floor.Median, true
}

func drawChart(section, date, title string, figs []report.Figure) *image.Paletted {
	height := headerHeight + len(figs)*rowHeight + footerHeight
	img := image.NewPaletted(image.Rect(0, 0, chartWidth, height), chartPalette)
	fill(img, img.Bounds(), background)

	better, tailName := "lower is better", "p90"
	if figs[0].Better == report.Higher {
		better, tailName = "higher is better", "p10"
	}
	text(img, margin, 16, fmt.Sprintf("Run %q, %s: %s", section, date, title))
	text(img, margin, 32, "ratio to floor (driver / floor, medians), "+better)
	text(img, margin, 48, "bar: ratio; thin line: driver "+tailName+" / floor median; red line: the floor (1.0)")

	// The axis runs to a round number past the longest bar or tail and
	// past 1.0, so the floor line is always on the chart. A whole number
	// of pixels per unit keeps bar lengths exactly proportional.
	top := 1.0
	for _, f := range figs {
		top = math.Max(top, finite(f.Ratio))
		if t, ok := tailRatio(f); ok {
			top = math.Max(top, t)
		}
	}
	step := tickStep(top)
	ticks := int(math.Ceil(top/step - 1e-9))
	perUnit := math.Floor(float64(plotWidth) / (float64(ticks) * step))
	x := func(v float64) int { return plotLeft + int(math.Round(v*perUnit)) }

	plotTop, plotBottom := headerHeight, headerHeight+len(figs)*rowHeight
	for k := 0; k <= ticks; k++ {
		v := math.Round(float64(k)*step*1000) / 1000
		fill(img, image.Rect(x(v), plotTop, x(v)+1, plotBottom), gridColour)
		label := strconv.FormatFloat(v, 'f', -1, 64) + "x"
		text(img, x(v)-len(label)*charWidth/2, plotBottom+18, label)
	}
	fill(img, image.Rect(plotLeft, plotBottom, x(float64(ticks)*step)+1, plotBottom+1), axisColour)
	// The floor line goes under the bars: it shows between the rows and
	// does not cut a bar short (the bars' lengths are the figures).
	fill(img, image.Rect(x(1)-1, plotTop-4, x(1)+1, plotBottom+4), floorColour)

	for i, f := range figs {
		y := barTop(i)
		text(img, margin, y+barHeight-3, ascii(f.Name, maxLabelChars))
		if !(f.Ratio > 0) || math.IsInf(f.Ratio, 0) {
			text(img, plotLeft+4, y+barHeight-3, "-")
			continue
		}
		end := x(f.Ratio)
		fill(img, image.Rect(plotLeft, y, end, y+barHeight), barColour)
		right := end
		if t, ok := tailRatio(f); ok {
			mid, tx := y+barHeight/2, x(t)
			fill(img, image.Rect(min(end, tx), mid-1, max(end, tx), mid+1), tailColour)
			fill(img, image.Rect(tx-1, mid-4, tx+1, mid+4), tailColour)
			right = max(right, tx)
		}
		text(img, right+6, y+barHeight-3, fmt.Sprintf("%.2fx", f.Ratio))
	}
	return img
}

// tickStep is the smallest round step that gives at most 8 intervals up to
// top.
func tickStep(top float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100} {
		if math.Ceil(top/s-1e-9) <= 8 {
			return s
		}
	}
	return math.Pow(10, math.Ceil(math.Log10(top/8)))
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func fill(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// text draws s with its baseline at y.
func text(img draw.Image, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(textColour), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// ascii makes a label drawable with the ASCII-only basic font ("×" is the
// one non-ASCII character figure names use) and cuts it to n characters.
func ascii(s string, n int) string {
	s = strings.ReplaceAll(s, "×", "x")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n-3] + "..."
	}
	return s
}
