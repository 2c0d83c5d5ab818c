package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// diagFormats are the formats every command that reports diagnostics takes.
var diagFormats = []string{"text", "json", "github", "sarif"}

// reportOptions adjust how diagnostics are reported.
type reportOptions struct {
	summary bool   // end text output with a one-line verdict
	strict  bool   // warnings fail the check (validate --strict)
	noun    string // what was checked, for the verdict; "configuration" when empty
}

// writeDiagnostics prints diags in format. files holds the sources that
// text snippets are cut from.
func writeDiagnostics(w io.Writer, format string, files map[string]*hcl.File, diags hcl.Diagnostics, opts reportOptions) error {
	switch format {
	case "json":
		return writeJSON(w, files, diags, opts.strict)
	case "github":
		return writeGitHub(w, diags)
	case "sarif":
		return writeSARIF(w, diags)
	default:
		return writeText(w, files, diags, opts)
	}
}

func writeText(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, opts reportOptions) error {
	tw := &textWriter{w: w, files: files, width: 78, color: useColor(w)}
	for _, d := range diags {
		tw.write(d)
	}
	if opts.summary {
		errs, warns := countDiagnostics(diags)
		noun := opts.noun
		if noun == "" {
			noun = "configuration"
		}
		_, err := fmt.Fprintln(w, summaryLine(noun, errs, warns, opts.strict))
		return err
	}
	return nil
}

// useColor reports whether w is a terminal that wants colour.
func useColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(f)
}

// The JSON document is the one 'terraform validate -json' prints, so that
// tools written for it read ours unchanged.
type jsonReport struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

type jsonDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonSnippet struct {
	Code                 string `json:"code"`
	StartLine            int    `json:"start_line"`
	HighlightStartOffset int    `json:"highlight_start_offset"`
	HighlightEndOffset   int    `json:"highlight_end_offset"`
}

// writeJSON prints the document. valid is false under strict when there
// are warnings, so that scripts reading it agree with the exit code.
func writeJSON(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, strict bool) error {
	errs, warns := countDiagnostics(diags)
	rep := jsonReport{FormatVersion: "1.0", Valid: passes(diags, strict), ErrorCount: errs, WarningCount: warns, Diagnostics: []jsonDiagnostic{}}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: severityWord(d.Severity), Summary: d.Summary, Detail: d.Detail}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
			jd.Snippet = snippet(files[r.Filename], *r)
		}
		rep.Diagnostics = append(rep.Diagnostics, jd)
	}
	return encodeJSON(w, rep)
}

// snippet cuts the lines of r out of file, with the highlight's offsets
// into them, as Terraform does.
func snippet(file *hcl.File, r hcl.Range) *jsonSnippet {
	if file == nil || r.Start.Byte > len(file.Bytes) || r.End.Byte > len(file.Bytes) || r.Start.Byte > r.End.Byte {
		return nil
	}
	src := file.Bytes
	lineStart := r.Start.Byte
	for lineStart > 0 && src[lineStart-1] != '\n' {
		lineStart--
	}
	lineEnd := r.End.Byte
	for lineEnd < len(src) && src[lineEnd] != '\n' {
		lineEnd++
	}
	return &jsonSnippet{
		Code:                 strings.TrimRight(string(src[lineStart:lineEnd]), "\r"),
		StartLine:            r.Start.Line,
		HighlightStartOffset: r.Start.Byte - lineStart,
		HighlightEndOffset:   r.End.Byte - lineStart,
	}
}

func severityWord(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagError {
		return "error"
	}
	return "warning"
}

// writeGitHub prints GitHub Actions workflow commands, one per diagnostic,
// which the Actions runner turns into annotations on the pull request.
func writeGitHub(w io.Writer, diags hcl.Diagnostics) error {
	for _, d := range diags {
		var props []string
		if r := d.Subject; r != nil {
			props = append(props,
				"file="+ghProperty(filepath.ToSlash(r.Filename)),
				fmt.Sprintf("line=%d", r.Start.Line), fmt.Sprintf("col=%d", r.Start.Column),
				fmt.Sprintf("endLine=%d", r.End.Line), fmt.Sprintf("endColumn=%d", r.End.Column))
		}
		props = append(props, "title="+ghProperty(d.Summary))
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", severityWord(d.Severity), strings.Join(props, ","), ghData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SARIF 2.1.0, the subset code-scanning dashboards read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

func writeSARIF(w io.Writer, diags hcl.Diagnostics) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "callflow", Version: version(),
			InformationURI: "https://github.com/callflow/callflow/blob/main/docs/language.md",
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	ruleIndex := map[string]int{}
	for _, d := range diags {
		id := ruleID(d.Summary)
		idx, ok := ruleIndex[id]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[id] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: id, Name: d.Summary, ShortDescription: sarifMessage{d.Summary}})
		}
		res := sarifResult{RuleID: id, RuleIndex: idx, Level: severityWord(d.Severity), Message: sarifMessage{d.Summary + ": " + d.Detail}}
		if r := d.Subject; r != nil {
			res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(r.Filename)},
				Region:           sarifRegion{r.Start.Line, r.Start.Column, r.End.Line, r.End.Column},
			}}}
		}
		run.Results = append(run.Results, res)
	}
	return encodeJSON(w, sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// ruleID turns a summary into a stable rule id: "Duplicate IVR key" →
// "duplicate-ivr-key".
func ruleID(summary string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(summary) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// encodeJSON writes v as indented JSON, the form every --format json uses.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
