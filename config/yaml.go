package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Position is a place in a YAML file.
type Position struct {
	File string
	Line int
	Col  int
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is one problem in a file, with its place.
type Error struct {
	Pos Position
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found in a file, reported at once.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Node is a raw YAML subtree kept for a plugin (a connector's or a source's
// settings) to decode strictly later, with positions intact.
type Node struct {
	File string
	ast.Node
}

// Decode decodes the node into v strictly (see DecodeNode). A zero Node
// decodes nothing.
func (n Node) Decode(v any) error {
	if n.Node == nil {
		return nil
	}
	return DecodeNode(n.File, n.Node, v)
}

// Pos returns the node's position.
func (n Node) Pos() Position { return nodePos(n.File, n.Node) }

var (
	nodeType     = reflect.TypeOf(Node{})
	durationType = reflect.TypeOf(time.Duration(0))
	unmarshaler  = reflect.TypeOf((*yaml.BytesUnmarshaler)(nil)).Elem()
)

// DecodeYAML parses data (named file in messages) and decodes it into v,
// a pointer to a struct whose fields carry `yaml:"name"` tags. Unknown keys,
// duplicate keys, wrong types and syntax errors are all reported at once as
// Errors with file:line:col. Fields of type Node keep their subtree raw.
func DecodeYAML(file string, data []byte, v any) error {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Errors{yamlError(file, err)}
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil
	}
	return DecodeNode(file, f.Docs[0].Body, v)
}

// DecodeNode decodes an already parsed subtree into v, like DecodeYAML.
func DecodeNode(file string, node ast.Node, v any) error {
	d := &decoder{file: file}
	d.value(node, reflect.ValueOf(v).Elem())
	if len(d.errs) > 0 {
		return d.errs
	}
	return nil
}

type decoder struct {
	file string
	errs Errors
}

func (d *decoder) fail(n ast.Node, format string, args ...any) {
	d.errs = append(d.errs, Error{Pos: nodePos(d.file, n), Msg: fmt.Sprintf(format, args...)})
}

func nodePos(file string, n ast.Node) Position {
	p := Position{File: file}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}

func (d *decoder) value(n ast.Node, rv reflect.Value) {
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		return
	}
	t := rv.Type()
	switch {
	case t == nodeType:
		rv.Set(reflect.ValueOf(Node{File: d.file, Node: n}))
		return
	case reflect.PointerTo(t).Implements(unmarshaler) || t == durationType:
		d.scalar(n, rv)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		d.value(n, rv.Elem())
	case reflect.Struct:
		d.structure(n, rv)
	case reflect.Map:
		d.mapping(n, rv)
	case reflect.Slice:
		d.sequence(n, rv)
	default:
		d.scalar(n, rv)
	}
}

// unwrap looks through anchors and tags to the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func (d *decoder) structure(n ast.Node, rv reflect.Value) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.fail(n, "expected a mapping (key: value lines), found %s", describe(n))
		return
	}
	fields := yamlFields(rv.Type())
	seen := map[string]bool{}
	for _, kv := range m.Values {
		key := kv.Key.String()
		idx, ok := fields[key]
		switch {
		case !ok:
			d.fail(kv.Key, "unknown key %q (known keys here: %s)", key, strings.Join(sortedKeys(fields), ", "))
			continue
		case seen[key]:
			d.fail(kv.Key, "key %q is given twice", key)
			continue
		}
		seen[key] = true
		d.value(kv.Value, rv.Field(idx))
	}
}

func (d *decoder) mapping(n ast.Node, rv reflect.Value) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.fail(n, "expected a mapping (key: value lines), found %s", describe(n))
		return
	}
	if rv.IsNil() {
		rv.Set(reflect.MakeMap(rv.Type()))
	}
	for _, kv := range m.Values {
		key := reflect.New(rv.Type().Key()).Elem()
		d.scalar(kv.Key, key)
		if rv.MapIndex(key).IsValid() {
			d.fail(kv.Key, "key %q is given twice", kv.Key.String())
			continue
		}
		val := reflect.New(rv.Type().Elem()).Elem()
		d.value(kv.Value, val)
		rv.SetMapIndex(key, val)
	}
}

func (d *decoder) sequence(n ast.Node, rv reflect.Value) {
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(n, "expected a list, found %s", describe(n))
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(s.Values), len(s.Values))
	for i, item := range s.Values {
		d.value(item, out.Index(i))
	}
	rv.Set(out)
}

func (d *decoder) scalar(n ast.Node, rv reflect.Value) {
	switch n.(type) {
	case *ast.MappingNode, *ast.SequenceNode:
		d.fail(n, "expected a single value, found %s", describe(n))
		return
	}
	if err := yaml.NodeToValue(n, rv.Addr().Interface(), yaml.Strict()); err != nil {
		d.fail(n, "%s", cleanMessage(err))
	}
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.String())
	}
}

// yamlFields maps yaml tag names (or lower-cased field names) to indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name[:1]) + f.Name[1:]
		}
		out[name] = i
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// yamlError turns a goccy error into an Error with its position.
func yamlError(file string, err error) Error {
	var tokErr interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &tokErr) {
		p := Position{File: file}
		if tk := tokErr.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
		return Error{Pos: p, Msg: tokErr.GetMessage()}
	}
	return Error{Pos: Position{File: file}, Msg: err.Error()}
}

// cleanMessage removes goccy's own position prefix from a leaf error.
func cleanMessage(err error) string {
	var tokErr interface{ GetMessage() string }
	if errors.As(err, &tokErr) {
		return tokErr.GetMessage()
	}
	msg := err.Error()
	if i := strings.Index(msg, "] "); strings.HasPrefix(msg, "[") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}
