package handlers

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// svgNode is an element of the chart, as parsed.
type svgNode struct {
	Name  string
	Attr  map[string]string
	Texts []string
}

func parseSVG(t *testing.T, s string) []svgNode {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	var (
		nodes []svgNode
		open  []int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := svgNode{Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				n.Attr[a.Name.Local] = a.Value
			}
			nodes = append(nodes, n)
			open = append(open, len(nodes)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 && strings.TrimSpace(string(tok)) != "" {
				nodes[open[len(open)-1]].Texts = append(nodes[open[len(open)-1]].Texts, string(tok))
			}
		}
	}
	return nodes
}

func sampleSales() shop.Sales {
	s := shop.Sales{Days: make([]shop.SalesDay, shop.OverviewDays)}
	for i := range s.Days {
		s.Days[i].Day = fmt.Sprintf("2026-02-%02d", i%28+1)
	}
	s.Days[3] = shop.SalesDay{Day: "2026-02-04", Captured: 100000, Net: 100000} // the best day: 1 000 kr
	s.Days[10] = shop.SalesDay{Day: "2026-02-11", Captured: 50000, Net: 50000}  // half of it
	s.Days[20] = shop.SalesDay{Day: "2026-02-21", Refunded: 25000, Net: -25000} // a day of refunds
	s.Days[29] = shop.SalesDay{Day: "2026-03-02", Captured: 10000, Refunded: 0, Net: 10000}
	s.Today = s.Days[29]
	s.Week = shop.SalesDay{Day: "2026-02-24", Captured: 10000, Net: 10000}
	return s
}

// TestSalesChartDrawsEveryDayToScale: one bar per day, heights in
// proportion to the net amounts (a negative day below the zero line), the
// day's money in the page's language, and the whole an image with a title
// and a description for assistive technology.
func TestSalesChartDrawsEveryDayToScale(t *testing.T) {
	l := newLang("nb", "Vipps", "Shop <&>", "NOK")
	svg := string(salesChart(l, sampleSales(), "NOK"))
	nodes := parseSVG(t, svg)
	root := nodes[0]
	if root.Name != "svg" || root.Attr["role"] != "img" || root.Attr["aria-labelledby"] != "sales-chart-title sales-chart-desc" ||
		root.Attr["viewBox"] != "0 0 320 180" || root.Attr["width"] != "100%" {
		t.Fatalf("root: %+v", root)
	}
	byID := map[string]svgNode{}
	var bars []svgNode
	for _, n := range nodes {
		if id := n.Attr["id"]; id != "" {
			byID[id] = n
		}
		if n.Name == "rect" {
			bars = append(bars, n)
		}
	}
	if got := byID["sales-chart-title"].Texts; len(got) != 1 || got[0] != l.T("overview.chart.title") {
		t.Fatalf("title: %q", got)
	}
	desc := strings.Join(byID["sales-chart-desc"].Texts, "")
	for _, want := range []string{FormatMoney(100000, "NOK", "nb"), "04.02.2026", FormatMoney(10000, "NOK", "nb")} {
		if !strings.Contains(desc, want) {
			t.Fatalf("description %q lacks %q", desc, want)
		}
	}
	if len(bars) != shop.OverviewDays {
		t.Fatalf("%d bars", len(bars))
	}
	num := func(n svgNode, a string) float64 {
		v, err := strconv.ParseFloat(n.Attr[a], 64)
		if err != nil {
			t.Fatalf("%s of %+v: %v", a, n, err)
		}
		return v
	}
	best, half, refunds, quiet := bars[3], bars[10], bars[20], bars[5]
	if h := num(best, "height"); h < 2*num(half, "height")-0.2 || h > 2*num(half, "height")+0.2 {
		t.Fatalf("heights: best %v, half %v", h, num(half, "height"))
	}
	if num(quiet, "height") != 0 {
		t.Fatalf("a day without sales has height %v", num(quiet, "height"))
	}
	zero := num(best, "y") + num(best, "height")
	if !strings.Contains(refunds.Attr["class"], "neg") || num(refunds, "y") < zero-0.1 || num(refunds, "y") > zero+0.1 {
		t.Fatalf("the day of refunds: %+v (zero line at %v)", refunds.Attr, zero)
	}
	if !strings.Contains(bars[29].Attr["class"], "today") || bars[29].Attr["data-net"] != "10000" {
		t.Fatalf("today's bar: %+v", bars[29].Attr)
	}
	for i, b := range bars {
		if x := num(b, "x"); x < chartLeft || x+num(b, "width") > chartRight || (i > 0 && x <= num(bars[i-1], "x")) {
			t.Fatalf("bar %d at %v", i, x)
		}
	}
	// The nb money format, as the table beside it writes it.
	if !strings.Contains(svg, FormatMoney(-25000, "NOK", "nb")) {
		t.Fatalf("the refunds' amount is not named")
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
		t.Fatal("the chart carries script or inline style")
	}
}

// TestSalesChartOfNoSales draws a flat chart without dividing by zero.
func TestSalesChartOfNoSales(t *testing.T) {
	s := shop.Sales{Days: make([]shop.SalesDay, shop.OverviewDays)}
	for i := range s.Days {
		s.Days[i].Day = fmt.Sprintf("2026-01-%02d", i+1)
	}
	svg := string(salesChart(newLang("en", "Vipps", "", "NOK"), s, "NOK"))
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Fatalf("chart: %s", svg)
	}
	for _, n := range parseSVG(t, svg) {
		if n.Name == "rect" && n.Attr["height"] != "0.0" {
			t.Fatalf("a bar of height %s", n.Attr["height"])
		}
	}
}
