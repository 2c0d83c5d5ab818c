package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/callflow/callflow/billing"
)

type barRow struct {
	label string
	value billing.Micro
}

// barWidth is the longest bar, in characters.
const barWidth = 30

// writeBars draws a horizontal bar chart scaled to the largest value.
func writeBars(w io.Writer, rows []barRow) {
	var most billing.Micro
	for _, r := range rows {
		most = max(most, r.value)
	}
	for _, r := range rows {
		n := 0
		if most > 0 {
			n = int((int64(r.value)*barWidth + int64(most) - 1) / int64(most))
		}
		fmt.Fprintf(w, "  %-10s %-*s %10s\n", r.label, barWidth, strings.Repeat("█", n), r.value)
	}
}
