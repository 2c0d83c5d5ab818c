package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
)

// textWriter prints diagnostics the way HCL's diagnostic writer does — the
// summary, the file, line and enclosing block, the source lines, the
// detail — and adds a line of carets under the part that is wrong, so the
// place is visible without colour (in CI logs, in pipes).
type textWriter struct {
	w     io.Writer
	files map[string]*hcl.File
	width uint
	color bool
}

func (tw *textWriter) write(d *hcl.Diagnostic) {
	var color, bold, reset string
	if tw.color {
		color, bold, reset = "\x1b[33m", "\x1b[1;4m", "\x1b[0m"
		if d.Severity == hcl.DiagError {
			color = "\x1b[31m"
		}
	}
	severity := "Warning"
	if d.Severity == hcl.DiagError {
		severity = "Error"
	}
	fmt.Fprintf(tw.w, "%s%s%s: %s\n\n", color, severity, reset, d.Summary)
	if r := d.Subject; r != nil {
		tw.snippet(*r, d.Context, bold, reset)
	}
	if d.Detail != "" {
		detail := d.Detail
		if tw.width > 0 {
			detail = wordwrap.WrapString(detail, tw.width)
		}
		fmt.Fprintf(tw.w, "%s\n\n", detail)
	}
}

func (tw *textWriter) snippet(subject hcl.Range, context *hcl.Range, bold, reset string) {
	file := tw.files[subject.Filename]
	if file == nil || file.Bytes == nil {
		fmt.Fprintf(tw.w, "  on %s line %d:\n  (source code not available)\n\n", subject.Filename, subject.Start.Line)
		return
	}
	where := ""
	if nav, ok := file.Nav.(interface{ ContextString(int) string }); ok {
		if s := nav.ContextString(subject.Start.Byte); s != "" {
			where = ", in " + s
		}
	}
	fmt.Fprintf(tw.w, "  on %s line %d%s:\n", subject.Filename, subject.Start.Line, where)
	highlight, lines := subject, subject
	if context != nil {
		lines = hcl.RangeOver(lines, *context)
	}
	// An empty range still marks one character.
	if highlight.Empty() {
		highlight.End.Byte++
		highlight.End.Column++
	}
	if lines.Empty() {
		lines.End.Byte++
		lines.End.Column++
	}
	src := file.Bytes
	sc := hcl.NewRangeScanner(src, subject.Filename, bufio.ScanLines)
	for sc.Scan() {
		line := sc.Range()
		if !line.Overlaps(lines) {
			continue
		}
		before, marked, after := line.PartitionAround(highlight)
		if marked.Empty() {
			fmt.Fprintf(tw.w, "%4d: %s\n", line.Start.Line, sc.Bytes())
			continue
		}
		fmt.Fprintf(tw.w, "%4d: %s%s%s%s%s\n", line.Start.Line,
			before.SliceBytes(src), bold, marked.SliceBytes(src), reset, after.SliceBytes(src))
		fmt.Fprintf(tw.w, "      %s%s\n", indentLike(before.SliceBytes(src)), strings.Repeat("^", max(1, utf8.RuneCount(marked.SliceBytes(src)))))
	}
	fmt.Fprintln(tw.w)
}

// indentLike returns blanks as wide as prefix, keeping its tabs, so the
// carets line up under the text in any terminal.
func indentLike(prefix []byte) string {
	var b strings.Builder
	for _, r := range string(prefix) {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
