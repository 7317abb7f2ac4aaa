package mapping

import (
	"errors"
	"os"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Source is the text of one mapping file.
type Source struct {
	Name string // shown in errors: "slack.yaml:12:5: ..."
	Data []byte
}

// Load reads and compiles mapping files as one mapping: typically one file
// with scope and identity, and one file per app. A broken mapping returns
// Errors listing every problem; the caller keeps its last good mapping.
func Load(files []string, r GroupResolver) (*Mapping, error) {
	srcs := make([]Source, 0, len(files))
	var errs errorList
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs.add(f, 1, 1, "cannot read mapping file: %v", err)
			continue
		}
		srcs = append(srcs, Source{Name: f, Data: data})
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return Compile(srcs, r)
}

// Parse compiles a single mapping file held in memory.
func Parse(name string, data []byte, r GroupResolver) (*Mapping, error) {
	return Compile([]Source{{Name: name, Data: data}}, r)
}

// Check validates mapping files without keeping the result, for
// `dirbridge mapping check FILE...`. With a resolver bound to the directory it
// also proves every group exists; without a directory, pass AnyGroup, which
// accepts every well-formed group DN.
func Check(files []string, r GroupResolver) error {
	_, err := Load(files, r)
	return err
}

// AnyGroup is a GroupResolver for checking mapping files offline: it accepts
// every well-formed DN and uses its normalized form as the group id. Whether
// the groups exist is only proved by loading with the directory's resolver.
type AnyGroup struct{}

// ResolveGroup implements GroupResolver.
func (AnyGroup) ResolveGroup(dn string) (string, bool, error) {
	n, err := normalizeDN(dn)
	return n, err == nil && n != "", nil
}

// Compile compiles mapping sources held in memory as one mapping.
func Compile(srcs []Source, r GroupResolver) (*Mapping, error) {
	if r == nil {
		r = noResolver{}
	}
	var errs errorList
	c := newCompiler(&errs, r)
	var files []*parsedFile
	for _, src := range srcs {
		if f := parseSource(src, &errs); f != nil {
			files = append(files, f)
		}
	}
	m := c.build(files, len(files) == len(srcs))
	if err := errs.err(); err != nil {
		return nil, err
	}
	return m, nil
}

type noResolver struct{}

func (noResolver) ResolveGroup(string) (string, bool, error) {
	return "", false, errors.New("no group resolver was given")
}

// parsedFile is the top level of one file.
type parsedFile struct {
	d      *decoder
	fields map[string]field
}

var topKeys = []string{"version", "directoryAttributes", "scope", "identity", "apps"}

func parseSource(src Source, errs *errorList) *parsedFile {
	d := &decoder{file: src.Name, lines: strings.Split(string(src.Data), "\n"), errs: errs}
	// Duplicate keys are reported by fields(), with the other errors, rather
	// than stopping the parse of the whole file.
	f, err := parser.ParseBytes(src.Data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		line, col, msg := yamlErrorPos(err)
		errs.add(src.Name, line, col, "YAML syntax: %s", msg)
		return nil
	}
	pf := &parsedFile{d: d, fields: map[string]field{}}
	docs := nonEmptyDocs(f)
	if len(docs) > 1 {
		p := d.posOf(docs[1].Body)
		if st := docs[1].Start; st != nil && st.Position != nil {
			p.line, p.col = st.Position.Line, st.Position.Column // the "---"
		}
		errs.add(p.file, p.line, p.col, "a mapping file holds one YAML document; split it into several files")
	}
	if len(docs) > 0 {
		for _, fl := range d.fields(docs[0].Body, "the mapping file", topKeys) {
			pf.fields[fl.key] = fl
		}
	}
	return pf
}

func nonEmptyDocs(f *ast.File) []*ast.DocumentNode {
	var out []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc.Body != nil {
			out = append(out, doc)
		}
	}
	return out
}

func yamlErrorPos(err error) (int, int, string) {
	// go-yaml's errors carry the offending token.
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		return ye.GetToken().Position.Line, ye.GetToken().Position.Column, ye.GetMessage()
	}
	return 1, 1, err.Error()
}

// build compiles the sections of every file; a section other than apps may
// appear in one file only.
// allParsed is false when a file had a YAML syntax error: a section missing
// from the others may be in that file, so its absence is not reported.
func (c *compiler) build(files []*parsedFile, allParsed bool) *Mapping {
	m := &Mapping{}
	for _, f := range files {
		c.versionAndAttributes(f)
	}
	scope := c.single(files, "scope")
	if scope != nil {
		m.scope = c.scopeSection(scope.d, scope.fields["scope"])
	}
	if id := c.single(files, "identity"); id != nil {
		m.identity = c.identitySection(id.d, id.fields["identity"])
	} else if len(files) > 0 && allParsed {
		c.errs.add(files[0].d.file, 1, 1, "no mapping file has an identity section (with at least userName)")
	}
	m.apps = c.appSections(files)
	for _, a := range m.apps {
		m.names = append(m.names, a.name)
	}
	for a := range c.used {
		m.attrs = append(m.attrs, a)
	}
	sort.Strings(m.attrs)
	return m
}

// single returns the one file holding key, reporting the others.
func (c *compiler) single(files []*parsedFile, key string) *parsedFile {
	var first *parsedFile
	for _, f := range files {
		fl, ok := f.fields[key]
		if !ok {
			continue
		}
		if first != nil {
			p := first.d.posOf(first.fields[key].keyAt)
			f.d.errorf(fl.keyAt, "%s is already defined at %s:%d:%d; only one file may define it", key, p.file, p.line, p.col)
			continue
		}
		first = f
	}
	return first
}
