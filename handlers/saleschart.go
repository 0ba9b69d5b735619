package handlers

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// The sales chart's drawing area, in the SVG's own units: about the width
// of the page's column on a phone's screen (390 px less the margins), so
// that its text reads at its size there, scaled up on wider screens.
const (
	chartWidth  = 320
	chartHeight = 180
	chartTop    = 24  // room for the highest amount
	chartBottom = 156 // the x axis's labels below
	chartLeft   = 4
	chartRight  = 316
)

// salesChart draws the net sales per day (captured less refunded) as an
// SVG of bars, server-side, no script: the chart is an image to assistive
// technology (role img, with a title and a description that give the
// figures in words); the page's table of the same days is its text. Its
// colours are the page's CSS variables (see admin.html).
func salesChart(l *Lang, s shop.Sales, currency string) template.HTML {
	if len(s.Days) == 0 {
		return ""
	}
	hi, lo := int64(0), int64(0)
	best := s.Days[0]
	for _, d := range s.Days {
		hi, lo = max(hi, d.Net), min(lo, d.Net)
		if d.Net > best.Net {
			best = d
		}
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	plot := float64(chartBottom - chartTop)
	y := func(v int64) float64 { return chartTop + float64(hi-v)/float64(span)*plot }
	slot := float64(chartRight-chartLeft) / float64(len(s.Days))
	money := func(v int64) string { return l.Money(v, currency) }
	esc := template.HTMLEscapeString

	var b strings.Builder
	desc := l.T("overview.chart.desc", "amount", money(best.Net), "date", l.dayLabel(best.Day), "today", money(s.Today.Net), "week", money(s.Week.Net))
	fmt.Fprintf(&b, `<svg class="sales-chart" id="sales-chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="sales-chart-title sales-chart-desc" focusable="false" xmlns="http://www.w3.org/2000/svg">`, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<title id="sales-chart-title">%s</title><desc id="sales-chart-desc">%s</desc>`, esc(l.T("overview.chart.title")), esc(desc))
	// The highest amount, with its line; the zero line.
	if hi > 0 {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartRight, y(hi), y(hi))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f">%s</text>`, chartLeft, y(hi)-6, esc(money(hi)))
	}
	for i, d := range s.Days {
		top, bottom := y(max(d.Net, 0)), y(min(d.Net, 0))
		class := "bar"
		if d.Net < 0 {
			class += " neg"
		}
		if i == len(s.Days)-1 {
			class += " today"
		}
		h := bottom - top
		if d.Net != 0 && h < 1 {
			h = 1 // a day that moved money shows
		}
		fmt.Fprintf(&b, `<rect class="%s" data-day="%s" data-net="%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			class, d.Day, d.Net, chartLeft+float64(i)*slot+slot*0.15, top, slot*0.7, h, esc(l.dayLabel(d.Day)), esc(money(d.Net)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartRight, y(0), y(0))
	// The first and the last day under the axis.
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, chartLeft, chartHeight-4, esc(l.dayLabel(s.Days[0].Day)))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartRight, chartHeight-4, esc(l.dayLabel(s.Days[len(s.Days)-1].Day)))
	b.WriteString(`</svg>`)
	// Every text in it was escaped above.
	return template.HTML(b.String())
}

// dayLabel writes a day given as YYYY-MM-DD as the language writes dates.
func (l *Lang) dayLabel(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format(l.T("format.date"))
}
