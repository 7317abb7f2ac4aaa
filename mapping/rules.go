package mapping

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
)

func listItems(n ast.Node) []ast.Node {
	if seq, ok := n.(*ast.SequenceNode); ok {
		if len(seq.Values) == 0 {
			return []ast.Node{}
		}
		return seq.Values
	}
	return nil
}

// rule compiles one assign rule. Its conditions (group, nestedGroup, ou,
// when) must all hold; the shorthands exist because "members of this group"
// is most of what admins write, and they read better in a review.
func (c *compiler) rule(d *decoder, n ast.Node, what, app string) (compiledRule, bool) {
	var r compiledRule
	var conds []string
	ok := true
	fields := d.fields(n, what, ruleKeys)
	if _, isMap := n.(*ast.MappingNode); !isMap {
		return r, false // fields reported what it is instead
	}
	for _, f := range fields {
		switch f.key {
		case "permissionSets", "groups":
			vals := c.literals(d, f, what)
			if f.key == "groups" {
				r.groups = vals
			} else {
				r.permissionSets = vals
			}
			continue
		}
		t, tok := d.scalar(f.value, f.keyAt, what+"."+f.key)
		if !tok {
			ok = false
			continue
		}
		desc, cok := c.ruleCondition(&r, f.key, t, what, app)
		ok = ok && cok
		if desc != "" {
			conds = append(conds, desc)
		}
	}
	if len(conds) == 0 && ok {
		d.errorf(n, "%s needs a condition: when, group, nestedGroup or ou", what)
		return r, false
	}
	r.desc = strings.Join(conds, " and ")
	return r, ok
}

// ruleCondition sets one scalar key of a rule; it returns the condition's
// description ("" for profile).
func (c *compiler) ruleCondition(r *compiledRule, key string, t text, what, app string) (string, bool) {
	switch key {
	case "profile":
		r.profile = t.value
		return "", true
	case "when":
		ctx := exprCtx{what: what + ".when", app: app, visible: len(identityFields)}
		r.when = c.compile(t, ctx, kindBool)
		return "when " + t.value, r.when != nil
	case "group", "nestedGroup":
		g := c.resolveGroup(t.value)
		if g.msg != "" {
			c.errorAt(t, 0, "%s.%s: %s", what, key, g.msg)
			return "", false
		}
		r.groupID, r.nested = g.id, key == "nestedGroup"
		return key + " " + quoteShort(t.value), true
	}
	n, err := normalizeDN(t.value) // ou
	if err != nil || n == "" {
		c.errorAt(t, 0, "%s.ou: %s is not a valid OU DN", what, quoteShort(t.value))
		return "", false
	}
	r.ou = n
	return "ou " + quoteShort(t.value), true
}

// literals reads a list of plain names (permission sets, app groups).
func (c *compiler) literals(d *decoder, f field, what string) []string {
	var out []string
	for _, t := range d.list(f.value, f.keyAt, what+"."+f.key) {
		if strings.TrimSpace(t.value) == "" {
			c.errorAt(t, 0, "%s.%s: empty name", what, f.key)
			continue
		}
		out = append(out, t.value)
	}
	return out
}
