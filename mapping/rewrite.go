package mapping

import (
	"strings"

	"github.com/expr-lang/expr/ast"
)

// rewriter turns what admins write into calls the evaluator can run fast and
// check at load: `givenName` becomes _attr($env, "givenname"),
// memberOf("CN=...") becomes _member($env, "<group id>", false), and so on.
// It reports unknown names, unknown functions and non-literal group DNs at
// their position.
type rewriter struct {
	c      *compiler
	t      text
	ctx    exprCtx
	lets   map[string]bool // names bound by `let`
	failed bool
}

func (r *rewriter) errorf(n ast.Node, format string, args ...any) {
	r.failed = true
	r.c.errorAt(r.t, n.Location().From, format, args...)
}

// walk visits the tree top-down, so a call is seen before its callee and a
// member access before the identifier it starts from.
func (r *rewriter) walk(np *ast.Node) {
	switch n := (*np).(type) {
	case *ast.IdentifierNode:
		r.identifier(np, n)
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "identity" {
			r.identityRef(np, n)
			return
		}
		r.walk(&n.Node)
		r.walk(&n.Property)
	case *ast.CallNode:
		r.call(np, n)
	case *ast.BinaryNode:
		if _, lit := n.Right.(*ast.StringNode); n.Operator == "matches" && !lit {
			// A pattern read from the directory would let an entry's data
			// decide how much work compiling it takes.
			r.errorf(n.Right, "matches needs its pattern as a literal in quotes")
		}
		if !r.nowComparison(np, n) {
			r.walk(&n.Left)
			r.walk(&n.Right)
		}
	case *ast.UnaryNode:
		r.walk(&n.Node)
	case *ast.ChainNode:
		r.walk(&n.Node)
	case *ast.SliceNode:
		r.walkAll(&n.Node, &n.From, &n.To)
	case *ast.BuiltinNode:
		r.walkList(n.Arguments)
	case *ast.PredicateNode:
		r.walk(&n.Node)
	case *ast.VariableDeclaratorNode:
		r.lets[n.Name] = true
		r.walkAll(&n.Value, &n.Expr)
	case *ast.SequenceNode:
		r.walkList(n.Nodes)
	case *ast.ConditionalNode:
		r.walkAll(&n.Cond, &n.Exp1, &n.Exp2)
	case *ast.ArrayNode:
		r.walkList(n.Nodes)
	case *ast.MapNode:
		r.walkList(n.Pairs)
	case *ast.PairNode:
		r.walk(&n.Value)
	}
}

func (r *rewriter) walkAll(nodes ...*ast.Node) {
	for _, n := range nodes {
		if *n != nil {
			r.walk(n)
		}
	}
}

func (r *rewriter) walkList(nodes []ast.Node) {
	for i := range nodes {
		r.walk(&nodes[i])
	}
}

// callNode builds a call of an internal function with $env first.
func callNode(fn string, args ...ast.Node) *ast.CallNode {
	all := append([]ast.Node{&ast.IdentifierNode{Value: "$env"}}, args...)
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: all}
}

func (r *rewriter) identifier(np *ast.Node, n *ast.IdentifierNode) {
	name := n.Value
	switch {
	case r.lets[name]:
	case name == "dn":
		ast.Patch(np, callNode("_dn"))
	case name == "identity":
		r.errorf(n, "identity needs a field, e.g. identity.userName")
	case strings.HasPrefix(name, "$") || strings.HasPrefix(name, "_"):
		r.errorf(n, "unknown name %q", name)
	case isFunctionName(name):
		r.errorf(n, "%s is a function: call it as %s(...)", name, name)
	default:
		r.attribute(np, n, name)
	}
}

func isFunctionName(name string) bool {
	if _, ok := library[name]; ok {
		return true
	}
	return contains(specialFuncs, name) || contains(builtins, name)
}

// attribute rewrites a directory attribute name, checked against the schema
// list: case-insensitive, as in LDAP.
func (r *rewriter) attribute(np *ast.Node, at ast.Node, name string) bool {
	lower := strings.ToLower(name)
	_, known := knownAttributes[lower]
	_, declared := r.c.declared[lower]
	if !known && !declared {
		r.errorf(at, "unknown directory attribute %q%s; declare a custom attribute under directoryAttributes",
			name, suggest(name, attrNames(r.c.declared)))
		return false
	}
	r.c.used[lower] = true
	ast.Patch(np, callNode("_attr", &ast.StringNode{Value: lower}))
	return true
}

func (r *rewriter) identityRef(np *ast.Node, n *ast.MemberNode) {
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		r.errorf(n, "identity needs a field name, e.g. identity.userName")
		return
	}
	i := identityFieldIndex(prop.Value)
	switch {
	case i < 0:
		r.errorf(n.Property, "unknown identity field %q%s", prop.Value, suggest(prop.Value, identityFieldNames()))
		return
	case i >= r.ctx.visible:
		r.errorf(n.Node, "%s cannot use identity.%s: %s", r.ctx.what, prop.Value, visibilityReason(r.ctx))
		return
	}
	f := identityFields[i]
	fn := "_identityString"
	if f.isBool {
		fn = "_identityBool"
	}
	ast.Patch(np, callNode(fn, &ast.IntegerNode{Value: f.slot}))
}

func visibilityReason(ctx exprCtx) string {
	if ctx.visible == 0 {
		return "it is evaluated before the identity"
	}
	return "identity fields are evaluated in the order " + strings.Join(identityFieldNames(), ", ") +
		", and each may use only those before it"
}
