package mapping

import (
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// exprKind is what an expression must produce.
type exprKind int

const (
	kindBool   exprKind = iota // conditions: when, active, frozen, protected
	kindString                 // identity texts, userName
	kindValue                  // app attributes: text, true/false, number or list
)

// exprCtx says where an expression stands, which decides what it may use.
type exprCtx struct {
	what    string // "identity.userName", "apps.slack.attributes.Email"
	app     string // for unique(): "" in identity
	attr    string // for unique(): the attribute being computed
	visible int    // how many identity fields (in evaluation order) it may read
}

// program is a compiled expression.
type program struct {
	prog   *vm.Program
	direct *directRead // set when the expression only reads one value
	src    string
	at     pos
	what   string
}

// compiler holds what one load shares between expressions.
type compiler struct {
	errs     *errorList
	resolver GroupResolver
	groups   map[string]groupLookup // by normalized DN
	declared map[string]string      // directoryAttributes: lower -> as written
	used     map[string]bool        // directory attributes read, lower case
}

type groupLookup struct {
	id  string
	msg string // why it does not resolve; "" when it does
}

func newCompiler(errs *errorList, r GroupResolver) *compiler {
	return &compiler{errs: errs, resolver: r, groups: map[string]groupLookup{},
		declared: map[string]string{}, used: map[string]bool{}}
}

// compile parses, rewrites, type-checks and compiles one expression. It
// reports every problem at its position in the file and returns nil then.
func (c *compiler) compile(t text, ctx exprCtx, kind exprKind) *program {
	if strings.TrimSpace(t.value) == "" {
		c.errorAt(t, 0, "%s: empty expression", ctx.what)
		return nil
	}
	cfg := conf.CreateNew()
	for _, opt := range exprOptions {
		opt(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	tree, err := parser.ParseWithConfig(t.value, cfg)
	if err != nil {
		c.exprError(t, ctx, err)
		return nil
	}
	rw := &rewriter{c: c, t: t, ctx: ctx, lets: map[string]bool{}}
	rw.walk(&tree.Node)
	if rw.failed {
		return nil
	}
	typ, err := checker.Check(tree, cfg)
	if err != nil {
		c.exprError(t, ctx, err)
		return nil
	}
	if !c.kindOK(t, ctx, kind, typ) {
		return nil
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		c.exprError(t, ctx, err)
		return nil
	}
	prog, err := exprcompiler.Compile(tree, cfg)
	if err != nil {
		c.exprError(t, ctx, err)
		return nil
	}
	return &program{prog: prog, direct: directReadOf(tree.Node), src: t.value, at: t.at, what: ctx.what}
}

// internalNames maps the rewriter's function names back to what the admin
// wrote, so checker messages speak the mapping language.
var internalNames = strings.NewReplacer("_nowCompare", "now() comparison", "_accountExpired", "accountExpired",
	"_unique", "unique", "_values", "values", "_attr", "attr", "_member", "memberOf", "_inOU", "inOU",
	"*mapping.state, ", "", "mapping.state", "mapping",
	"[]interface {}", "list", "[]string", "list", "time.Time", "time", "interface {}", "any value")

func (c *compiler) exprError(t text, ctx exprCtx, err error) {
	fe, ok := err.(*file.Error)
	if !ok {
		c.errorAt(t, 0, "%s: %s", ctx.what, err.Error())
		return
	}
	hint := ""
	if t.cut {
		hint = ` (YAML ended the value at " #", which starts a comment: put the expression in single quotes)`
	}
	c.errorAt(t, fe.From, "%s: %s in %s%s", ctx.what, strings.TrimSpace(internalNames.Replace(fe.Message)), quoteShort(t.value), hint)
}

// errorAt reports at rune offset off of an expression's text.
func (c *compiler) errorAt(t text, off int, format string, args ...any) {
	line, col := t.posAt(off)
	c.errs.add(t.at.file, line, col, format, args...)
}

// posAt maps a rune offset inside the text to a file line and column.
func (t text) posAt(off int) (int, int) {
	line, col, i := 0, 0, 0
	for _, r := range t.value {
		if i == off {
			break
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
		i++
	}
	switch {
	case t.block > 0:
		return t.at.line + line, t.block + col
	case line == 0:
		return t.at.line, t.at.col + t.quote + col
	}
	return t.at.line, t.at.col // a folded plain scalar: lines were joined
}

var timeType = reflect.TypeOf(time.Time{})

func (c *compiler) kindOK(t text, ctx exprCtx, kind exprKind, typ reflect.Type) bool {
	if typ == nil || typ.Kind() == reflect.Interface {
		return true // decided at run time (e.g. a conditional mixing types)
	}
	ok := false
	switch kind {
	case kindBool:
		ok = typ.Kind() == reflect.Bool
	case kindString:
		ok = typ.Kind() == reflect.String
	case kindValue:
		switch typ.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64, reflect.Slice, reflect.Array:
			ok = true
		}
	}
	if !ok {
		c.errorAt(t, 0, "%s must give %s, but %s gives %s", ctx.what, kindWords[kind], quoteShort(t.value), typeWords(typ))
	}
	return ok
}

var kindWords = map[exprKind]string{
	kindBool:   "true or false (a condition)",
	kindString: "text",
	kindValue:  "text, true/false, a number or a list",
}

func typeWords(t reflect.Type) string {
	switch {
	case t == timeType:
		return "a time (use formatTime)"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	case t.Kind() == reflect.Map:
		return "a map"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number"
	}
	return t.String()
}
