// Package lang reads a callflow repository: every *.hcl file under a
// directory, decoded into the typed model in model.go with a source range
// on every node.
//
// lang knows the shape of the language and nothing of its meaning: it
// reports syntax errors, unknown blocks and arguments, and values of the
// wrong type. Whether references resolve and the rules of SPEC.md hold is
// decided by package compiler.
package lang

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser is the one entry point for reading configuration. It keeps every
// file it has read, so that diagnostics can be printed with source
// snippets afterwards (see [Parser.Files]).
type Parser struct {
	p *hclparse.Parser
}

// NewParser returns a parser with an empty file cache.
func NewParser() *Parser {
	return &Parser{p: hclparse.NewParser()}
}

// Files returns every file read so far, by the name used in diagnostics.
func (p *Parser) Files() map[string]*hcl.File { return p.p.Files() }

// IsTestFile reports whether a file holds flow tests rather than
// configuration. Such files (*_test.hcl) are read by `callflow test`.
func IsTestFile(name string) bool { return strings.HasSuffix(name, "_test.hcl") }

// ConfigFiles lists the configuration files under dir: every *.hcl file
// except *_test.hcl, skipping directories whose names begin with a dot
// (.git, .terraform…). Names are dir joined with the relative path, sorted.
func ConfigFiles(dir string) ([]string, error) { return findFiles(dir, filesConfig) }

// AllFiles lists every *.hcl file under dir, flow tests included, as
// `callflow fmt` needs.
func AllFiles(dir string) ([]string, error) { return findFiles(dir, filesAll) }

// TestFiles lists the flow test files (*_test.hcl) under dir.
func TestFiles(dir string) ([]string, error) { return findFiles(dir, filesTests) }

type fileSet int

const (
	filesConfig fileSet = iota
	filesTests
	filesAll
)

func findFiles(dir string, set fileSet) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".hcl") || !d.Type().IsRegular() {
			return nil
		}
		if set == filesAll || (set == filesTests) == IsTestFile(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// LoadDir reads every configuration file under dir into one Config. It
// returns every problem it finds, not just the first; the Config holds
// whatever could be decoded, so that later checks can still run.
func (p *Parser) LoadDir(dir string) (*Config, hcl.Diagnostics) {
	info, err := os.Stat(dir)
	if err != nil {
		return &Config{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   fmt.Sprintf("%s. Give the directory that holds your *.hcl files.", err),
		}}
	}
	if !info.IsDir() {
		return &Config{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Not a directory",
			Detail:   fmt.Sprintf("%s is a file. Give the directory that holds your *.hcl files.", dir),
		}}
	}
	names, err := ConfigFiles(dir)
	if err != nil {
		return &Config{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   err.Error(),
		}}
	}
	if len(names) == 0 {
		return &Config{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("There are no *.hcl files under %s. Run the command in your configuration repository, or give its path.", dir),
		}}
	}
	files, diags := readFiles(names)
	cfg, more := p.LoadSources(files)
	return cfg, append(diags, more...)
}

// readFiles reads the named files, reporting those it cannot read.
func readFiles(names []string) ([]NamedSource, hcl.Diagnostics) {
	files := make([]NamedSource, 0, len(names))
	var diags hcl.Diagnostics
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read file",
				Detail:   err.Error(),
				Subject:  &hcl.Range{Filename: name},
			})
			continue
		}
		files = append(files, NamedSource{Name: name, Src: src})
	}
	return files, diags
}

// NamedSource is one file's name and contents.
type NamedSource struct {
	Name string
	Src  []byte
}

// LoadSources decodes the given files, in the order given, into one
// Config. LoadDir uses it; tests and fuzzers call it directly.
func (p *Parser) LoadSources(files []NamedSource) (*Config, hcl.Diagnostics) {
	cfg := &Config{}
	var diags hcl.Diagnostics
	for _, f := range files {
		body, d := p.parse(f)
		diags = append(diags, d...)
		if body != nil {
			diags = append(diags, decodeFile(cfg, body)...)
		}
	}
	SanitizeRanges(diags)
	return cfg, diags
}

// parse parses one file into the cache and returns its body, or nil when
// there is nothing to decode.
func (p *Parser) parse(f NamedSource) (hcl.Body, hcl.Diagnostics) {
	if d := checkText(f); d != nil {
		// A binary file would otherwise produce one error per stray
		// byte, each quoting raw bytes back at the terminal.
		return nil, hcl.Diagnostics{d}
	}
	file, diags := p.p.ParseHCL(f.Src, f.Name)
	if file == nil || file.Body == nil {
		return nil, diags
	}
	return file.Body, diags
}

// SanitizeRanges repairs ranges that end before they start. HCL's parser
// recovers from some syntax errors with such ranges, and printing them
// would cut a negative-length snippet; every diagnostic must point at a
// real place in its file.
func SanitizeRanges(diags hcl.Diagnostics) {
	for _, d := range diags {
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if r != nil && r.End.Byte < r.Start.Byte {
				r.End = r.Start
			}
		}
	}
}

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "organization"},
		{Type: "credits"},
		{Type: "recordings"},
		{Type: "rates"},
		{Type: "trunk", LabelNames: []string{"name"}},
		{Type: "number", LabelNames: []string{"name"}},
		{Type: "user", LabelNames: []string{"name"}},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "flow", LabelNames: []string{"name"}},
	},
}

func decodeFile(cfg *Config, body hcl.Body) hcl.Diagnostics {
	content, diags := body.Content(fileSchema)
	for _, block := range content.Blocks {
		switch block.Type {
		case "organization":
			diags = append(diags, once(&cfg.Organization, block, decodeOrganization, func(o *Organization) hcl.Range { return o.DeclRange })...)
		case "credits":
			diags = append(diags, once(&cfg.Credits, block, decodeCredits, func(c *Credits) hcl.Range { return c.DeclRange })...)
		case "recordings":
			diags = append(diags, once(&cfg.Recordings, block, decodeRecordings, func(r *Recordings) hcl.Range { return r.DeclRange })...)
		case "rates":
			diags = append(diags, once(&cfg.Rates, block, decodeRates, func(r *Rates) hcl.Range { return r.DeclRange })...)
		case "trunk":
			t, d := decodeTrunk(block)
			diags = append(diags, d...)
			cfg.Trunks = append(cfg.Trunks, t)
		case "number":
			n, d := decodeNumber(block)
			diags = append(diags, d...)
			cfg.Numbers = append(cfg.Numbers, n)
		case "user":
			u, d := decodeUser(block)
			diags = append(diags, d...)
			cfg.Users = append(cfg.Users, u)
		case "group":
			g, d := decodeGroup(block)
			diags = append(diags, d...)
			cfg.Groups = append(cfg.Groups, g)
		case "flow":
			f, d := decodeFlow(block)
			diags = append(diags, d...)
			cfg.Flows = append(cfg.Flows, f)
		}
	}
	return diags
}

// once decodes a block that a repository has at most one of into *slot,
// reporting a second one.
func once[T any](slot **T, block *hcl.Block, decode func(*hcl.Block) (*T, hcl.Diagnostics), declRange func(*T) hcl.Range) hcl.Diagnostics {
	v, diags := decode(block)
	if *slot != nil {
		return append(diags, duplicateSingleton(block, declRange(*slot), "A repository"))
	}
	*slot = v
	return diags
}

// duplicateSingleton reports a second block of a type that may appear once
// in its parent: the repository, a credits block, a transfer_user state.
func duplicateSingleton(block *hcl.Block, first hcl.Range, parent string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", block.Type),
		Detail:   fmt.Sprintf("%s has at most one %s block, and one is already declared at %s. Merge the two.", parent, block.Type, first),
		Subject:  block.DefRange.Ptr(),
	}
}

// checkText reports a file that is not UTF-8 text, pointing at the first
// offending byte.
func checkText(f NamedSource) *hcl.Diagnostic {
	line, col := 1, 1
	for i := 0; i < len(f.Src); {
		r, size := utf8.DecodeRune(f.Src[i:])
		if (r == utf8.RuneError && size <= 1) || r == 0 {
			pos := hcl.Pos{Line: line, Column: col, Byte: i}
			return &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Not a UTF-8 text file",
				Detail:   fmt.Sprintf("Byte %d (0x%02x) is not UTF-8 text. Configuration files are UTF-8; check that this is the file you meant, and that your editor saves UTF-8.", i, f.Src[i]),
				Subject:  &hcl.Range{Filename: f.Name, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}},
			}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}
