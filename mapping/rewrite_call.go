package mapping

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
)

func (r *rewriter) call(np *ast.Node, n *ast.CallNode) {
	callee, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		r.errorf(n, "only functions of the mapping library can be called")
		return
	}
	switch name := callee.Value; name {
	case "memberOf", "memberOfNested":
		r.groupCall(np, n, name)
	case "inOU":
		r.ouCall(np, n)
	case "values", "attr":
		r.attrCall(np, n, name)
	case "unique":
		r.uniqueCall(np, n)
	case "now":
		r.errorf(n, "now() can only be compared with a time, e.g. now() >= parseTime(startDate, \"date\"), "+
			"so the agent knows when to look again")
	case "accountExpired":
		r.walkList(n.Arguments)
		ast.Patch(np, callNode("_accountExpired", n.Arguments...))
	case "regexReplace":
		r.regexCall(n)
	default:
		if _, ok := library[name]; !ok || strings.HasPrefix(name, "_") {
			r.errorf(n, "unknown function %q%s", name, suggest(name, publicFunctions()))
			return
		}
		r.walkList(n.Arguments)
	}
}

// literalArg returns the single string literal argument of a call.
func (r *rewriter) literalArg(n *ast.CallNode, name, example string) (string, bool) {
	if len(n.Arguments) != 1 {
		r.errorf(n, "%s takes one argument, e.g. %s", name, example)
		return "", false
	}
	s, ok := n.Arguments[0].(*ast.StringNode)
	if !ok {
		r.errorf(n.Arguments[0], "%s needs a literal in quotes, e.g. %s", name, example)
		return "", false
	}
	return s.Value, true
}

// groupCall resolves the group DN at load, through the GroupResolver: a
// group that does not resolve is an error here, never an empty group.
func (r *rewriter) groupCall(np *ast.Node, n *ast.CallNode, name string) {
	dn, ok := r.literalArg(n, name, name+`("CN=Sales,OU=Groups,DC=corp,DC=example")`)
	if !ok {
		return
	}
	g := r.c.resolveGroup(dn)
	if g.msg != "" {
		r.errorf(n.Arguments[0], "%s", g.msg)
		return
	}
	ast.Patch(np, callNode("_member", &ast.StringNode{Value: g.id}, &ast.BoolNode{Value: name == "memberOfNested"}))
}

func (r *rewriter) ouCall(np *ast.Node, n *ast.CallNode) {
	dn, ok := r.literalArg(n, "inOU", `inOU("OU=Sales,DC=corp,DC=example")`)
	if !ok {
		return
	}
	norm, err := normalizeDN(dn)
	if err != nil || norm == "" {
		r.errorf(n.Arguments[0], "%s is not a valid OU DN", quoteShort(dn))
		return
	}
	ast.Patch(np, callNode("_inOU", &ast.StringNode{Value: norm}))
}

// attrCall handles values(proxyAddresses) (every value of a multi-valued
// attribute) and attr("msDS-cloudExtensionAttribute1") (for names that are
// not valid identifiers). Both take an attribute name, not its value.
func (r *rewriter) attrCall(np *ast.Node, n *ast.CallNode, name string) {
	if len(n.Arguments) != 1 {
		r.errorf(n, "%s takes one attribute name, e.g. %s(proxyAddresses)", name, name)
		return
	}
	var attr string
	switch a := n.Arguments[0].(type) {
	case *ast.IdentifierNode:
		attr = a.Value
	case *ast.StringNode:
		attr = a.Value
	default:
		r.errorf(n.Arguments[0], "%s needs an attribute name, e.g. %s(proxyAddresses) or %s(\"msDS-cloudExtensionAttribute1\")", name, name, name)
		return
	}
	fn := "_attr"
	if name == "values" {
		fn = "_values"
	}
	if r.attribute(np, n.Arguments[0], attr) {
		(*np).(*ast.CallNode).Callee = &ast.IdentifierNode{Value: fn}
	}
}

func (r *rewriter) uniqueCall(np *ast.Node, n *ast.CallNode) {
	if len(n.Arguments) != 1 {
		r.errorf(n, `unique takes one list of candidates, e.g. unique([a, b, c])`)
		return
	}
	r.walkList(n.Arguments)
	ast.Patch(np, callNode("_unique", &ast.StringNode{Value: r.ctx.app}, &ast.StringNode{Value: r.ctx.attr}, n.Arguments[0]))
}

func (r *rewriter) regexCall(n *ast.CallNode) {
	if len(n.Arguments) == 3 {
		if s, ok := n.Arguments[1].(*ast.StringNode); !ok {
			r.errorf(n.Arguments[1], "regexReplace needs its pattern as a literal in quotes")
		} else if err := compileRegex(s.Value); err != nil {
			r.errorf(n.Arguments[1], "bad regular expression %s: %s", quoteShort(s.Value), err)
		}
	}
	r.walkList(n.Arguments)
}

var nowOps = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "==": true, "!=": true}

func isNowCall(n ast.Node) bool {
	c, ok := n.(*ast.CallNode)
	if !ok || len(c.Arguments) != 0 {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == "now"
}

// nowComparison rewrites `now() >= t` so the evaluation records t: the
// result may flip then with no directory write, and the agent sets a timer.
func (r *rewriter) nowComparison(np *ast.Node, n *ast.BinaryNode) bool {
	left, right := isNowCall(n.Left), isNowCall(n.Right)
	if !nowOps[n.Operator] || left == right {
		return false
	}
	other := &n.Right
	if right {
		other = &n.Left
	}
	r.walk(other)
	ast.Patch(np, callNode("_nowCompare", &ast.StringNode{Value: n.Operator}, *other, &ast.BoolNode{Value: right}))
	return true
}

// resolveGroup resolves and caches one group DN.
func (c *compiler) resolveGroup(dn string) groupLookup {
	norm, err := normalizeDN(dn)
	if err != nil || norm == "" {
		return groupLookup{msg: fmt.Sprintf("%s is not a valid group DN", quoteShort(dn))}
	}
	if g, ok := c.groups[norm]; ok {
		return g
	}
	var g groupLookup
	switch id, ok, err := c.resolver.ResolveGroup(dn); {
	case err != nil:
		g.msg = fmt.Sprintf("cannot resolve group %s: %v", quoteShort(dn), err)
	case !ok:
		g.msg = fmt.Sprintf("group %s does not resolve in the directory", quoteShort(dn))
	default:
		g.id = id
	}
	c.groups[norm] = g
	return g
}
