package scim

import (
	"fmt"
	"strings"
)

// attrPath is a SCIM attribute path as mappings write it (RFC 7644 section
// 3.5.2 "attrPath" with an optional "valFilter" of the form `sub eq "v"`):
// `displayName`, `name.givenName`, `emails[type eq "work"].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
type attrPath struct {
	raw    string
	urn    string // extension schema, "" for the core schema
	attr   string // top-level attribute within the schema
	fAttr  string // filter sub-attribute ("type"), "" without a filter
	fValue string // filter value ("work")
	sub    string // sub-attribute ("value", "givenName"), "" for the whole attribute
}

func parsePath(raw string) (attrPath, error) {
	p := attrPath{raw: raw}
	rest := raw
	if strings.HasPrefix(strings.ToLower(raw), "urn:") {
		head := raw
		if i := strings.IndexByte(raw, '['); i >= 0 {
			head = raw[:i]
		}
		i := strings.LastIndexByte(head, ':')
		p.urn, rest = raw[:i], raw[i+1:]
	}
	if i := strings.IndexByte(rest, '['); i >= 0 {
		j := strings.IndexByte(rest, ']')
		if j < i {
			return p, fmt.Errorf("attribute path %q: unclosed filter", raw)
		}
		var err error
		if p.fAttr, p.fValue, err = parseEqFilter(rest[i+1 : j]); err != nil {
			return p, fmt.Errorf("attribute path %q: %w", raw, err)
		}
		p.attr, rest = rest[:i], strings.TrimPrefix(rest[j+1:], ".")
		p.sub = rest
	} else {
		p.attr, p.sub, _ = strings.Cut(rest, ".")
	}
	if p.attr == "" || strings.ContainsAny(p.attr+p.sub, " []\"") {
		return p, fmt.Errorf("attribute path %q: not a SCIM attribute path", raw)
	}
	return p, nil
}

// parseEqFilter parses `type eq "work"`, the only filter a write path may
// carry here: it names one element of a multi-valued attribute.
func parseEqFilter(f string) (attr, value string, err error) {
	parts := strings.SplitN(strings.TrimSpace(f), " ", 3)
	if len(parts) != 3 || !strings.EqualFold(parts[1], "eq") {
		return "", "", fmt.Errorf("filter %q: only `sub eq \"value\"` is supported in a write path", f)
	}
	v := strings.TrimSpace(parts[2])
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", "", fmt.Errorf("filter %q: the value must be a quoted string", f)
	}
	return parts[0], unescapeFilterValue(v[1 : len(v)-1]), nil
}

// quoteFilterValue quotes s as a SCIM filter string (RFC 7644 section 3.4.2.2
// uses JSON string syntax, RFC 7159 section 7): `"` and `\` are escaped.
func quoteFilterValue(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func unescapeFilterValue(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		if r == '\\' && !esc {
			esc = true
			continue
		}
		esc = false
		b.WriteRune(r)
	}
	return b.String()
}

// container returns the map holding p's top-level attribute: the resource
// itself or its extension object, created when create is set.
func (p attrPath) container(res map[string]any, create bool) map[string]any {
	if p.urn == "" {
		return res
	}
	ext, ok := res[p.urn].(map[string]any)
	if !ok && create {
		ext = map[string]any{}
		res[p.urn] = ext
		addSchema(res, p.urn)
	}
	return ext
}

func addSchema(res map[string]any, urn string) {
	schemas, _ := res["schemas"].([]any)
	for _, s := range schemas {
		if s == urn {
			return
		}
	}
	res["schemas"] = append(schemas, urn)
}

// set writes v at p in a resource document; nil removes the value.
func (p attrPath) set(res map[string]any, v any) {
	c := p.container(res, true)
	switch {
	case p.fAttr != "":
		p.setInList(c, v)
	case p.sub == "":
		setOrDelete(c, p.attr, v)
	default:
		obj, ok := c[p.attr].(map[string]any)
		if !ok {
			obj = map[string]any{}
			c[p.attr] = obj
		}
		setOrDelete(obj, p.sub, v)
	}
}

// setInList writes into the element of a multi-valued attribute that
// matches the filter, adding the element when none does.
func (p attrPath) setInList(c map[string]any, v any) {
	list, _ := c[p.attr].([]any)
	for _, el := range list {
		if m, ok := el.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m[p.fAttr]), p.fValue) {
			p.setElement(m, v)
			return
		}
	}
	if v == nil {
		return
	}
	m := map[string]any{p.fAttr: p.fValue}
	p.setElement(m, v)
	c[p.attr] = append(list, m)
}

func (p attrPath) setElement(m map[string]any, v any) {
	if p.sub == "" {
		if vm, ok := v.(map[string]any); ok {
			for k, x := range vm {
				m[k] = x
			}
		}
		return
	}
	setOrDelete(m, p.sub, v)
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

// get reads the value at p, nil when absent.
func (p attrPath) get(res map[string]any) any {
	c := p.container(res, false)
	if c == nil {
		return nil
	}
	if p.fAttr != "" {
		list, _ := c[p.attr].([]any)
		for _, el := range list {
			if m, ok := el.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m[p.fAttr]), p.fValue) {
				return subValue(m, p.sub)
			}
		}
		return nil
	}
	if p.sub == "" {
		return c[p.attr]
	}
	obj, _ := c[p.attr].(map[string]any)
	return subValue(obj, p.sub)
}

func subValue(m map[string]any, sub string) any {
	if m == nil {
		return nil
	}
	if sub == "" {
		return m
	}
	return m[sub]
}
