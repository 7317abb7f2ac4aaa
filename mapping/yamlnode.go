package mapping

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decoder walks the YAML syntax tree of one file by hand instead of
// unmarshalling into structs: that is what lets every unknown key, wrong type
// and bad expression be reported with its own line and column, all at once.
type decoder struct {
	file  string
	lines []string // source lines, to find the indentation of block scalars
	errs  *errorList
}

// pos is a position in a mapping file.
type pos struct {
	file      string
	line, col int
}

func (d *decoder) posOf(n ast.Node) pos {
	if n == nil {
		return pos{file: d.file, line: 1, col: 1}
	}
	t := n.GetToken()
	if t == nil || t.Position == nil {
		return pos{file: d.file, line: 1, col: 1}
	}
	return pos{file: d.file, line: t.Position.Line, col: t.Position.Column}
}

func (d *decoder) errorf(n ast.Node, format string, args ...any) {
	p := d.posOf(n)
	d.errs.add(p.file, p.line, p.col, format, args...)
}

// reported stands for a value whose error is already reported: consumers
// skip it silently, so one mistake gives one message.
var reported ast.Node = &ast.NullNode{BaseNode: &ast.BaseNode{}}

// unwrap removes YAML anchors (harmless) and reports aliases and tags, which a
// mapping file does not need and which would hide where a value came from.
func (d *decoder) unwrap(n ast.Node) ast.Node {
	switch v := n.(type) {
	case *ast.AnchorNode:
		return d.unwrap(v.Value)
	case *ast.AliasNode:
		d.errorf(n, "YAML aliases (%s) are not supported in mapping files: repeat the value", v.String())
		return reported
	case *ast.TagNode:
		d.errorf(n, "YAML tags (%s) are not supported in mapping files", v.Start.Value)
		return reported
	}
	return n
}

// field is one key of a YAML mapping.
type field struct {
	key   string
	keyAt ast.Node
	value ast.Node // nil for an empty value
}

// fields returns the keys of a mapping node, reporting a non-mapping value,
// duplicate keys, and keys not in known (when known is not nil).
func (d *decoder) fields(n ast.Node, what string, known []string) []field {
	n = d.unwrap(n)
	if n == nil || n == reported {
		return nil
	}
	if _, null := n.(*ast.NullNode); null {
		return nil
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.errorf(n, "%s must be a mapping of keys to values, not %s", what, describe(n))
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for _, mv := range m.Values {
		key, ok := d.keyText(mv.Key)
		if !ok {
			continue
		}
		if seen[key] {
			d.errorf(mv.Key, "duplicate key %q in %s", key, what)
			continue
		}
		seen[key] = true
		if known != nil && !contains(known, key) {
			d.errorf(mv.Key, "unknown key %q in %s%s", key, what, suggest(key, known))
			continue
		}
		out = append(out, field{key: key, keyAt: mv.Key, value: nullToNil(d.unwrap(mv.Value))})
	}
	return out
}

func (d *decoder) keyText(k ast.MapKeyNode) (string, bool) {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.MergeKeyNode:
		d.errorf(k, "YAML merge keys (<<) are not supported in mapping files")
		return "", false
	}
	if t := k.GetToken(); t != nil {
		return t.Value, true
	}
	return "", false
}

func nullToNil(n ast.Node) ast.Node {
	if _, null := n.(*ast.NullNode); null && n != reported {
		return nil
	}
	return n
}

// text is a scalar value with its position; for expressions it also carries
// what is needed to map an offset inside the text back to the file.
type text struct {
	value string
	at    pos
	quote int  // 1 when the scalar was quoted: the text starts one column later
	block int  // for block scalars (| and >): the column where each line starts
	cut   bool // a plain scalar followed by " #": YAML read the rest as a comment
}

// scalar returns the text of a scalar value; parent is reported when the value
// is missing.
func (d *decoder) scalar(n ast.Node, parent ast.Node, what string) (text, bool) {
	if n == reported {
		return text{}, false
	}
	if n == nil {
		d.errorf(parent, "%s needs a value", what)
		return text{}, false
	}
	switch v := n.(type) {
	case *ast.StringNode:
		t := text{value: v.Value, at: d.posOf(n)}
		if v.Token.Type == token.DoubleQuoteType || v.Token.Type == token.SingleQuoteType {
			t.quote = 1
		} else {
			t.cut = d.commentAfter(t)
		}
		return t, true
	case *ast.LiteralNode:
		return d.blockText(v), true
	case *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return text{value: n.GetToken().Value, at: d.posOf(n)}, true
	}
	d.errorf(n, "%s must be a single value, not %s", what, describe(n))
	return text{}, false
}

// commentAfter reports whether a comment follows a plain scalar on its
// line: in `filter(list, # > 1)` YAML keeps only `filter(list,`.
func (d *decoder) commentAfter(t text) bool {
	if t.at.line < 1 || t.at.line > len(d.lines) {
		return false
	}
	line := d.lines[t.at.line-1]
	i := strings.Index(line, t.value)
	return i >= 0 && strings.Contains(line[i+len(t.value):], "#")
}

// blockText handles `|` and `>` scalars: their text starts on the next line,
// at that line's indentation.
func (d *decoder) blockText(v *ast.LiteralNode) text {
	first := v.Start.Position.Line + 1
	for first <= len(d.lines) && strings.TrimSpace(d.lines[first-1]) == "" {
		first++
	}
	indent := 0
	if first <= len(d.lines) {
		l := d.lines[first-1]
		indent = len(l) - len(strings.TrimLeft(l, " "))
	}
	return text{value: strings.TrimRight(v.Value.Value, "\n"), at: pos{file: d.file, line: first, col: indent + 1}, block: indent + 1}
}

// list returns the items of a sequence; a single scalar is accepted as a
// list of one, which is what admins write for one permission set.
func (d *decoder) list(n ast.Node, parent ast.Node, what string) []text {
	if n == nil || n == reported {
		return nil
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		t, ok := d.scalar(n, parent, what)
		if !ok {
			return nil
		}
		return []text{t}
	}
	var out []text
	for _, item := range seq.Values {
		item = d.unwrap(item)
		if item == reported {
			continue
		}
		if t, ok := d.scalar(nullToNil(item), seq, what+" item"); ok {
			out = append(out, t)
		}
	}
	return out
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "an empty value"
	}
	if t := n.GetToken(); t != nil {
		return "the value " + quoteShort(t.Value)
	}
	return "this value"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
