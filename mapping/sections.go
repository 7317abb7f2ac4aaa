package mapping

import (
	"strings"
	"unicode/utf8"
)

func (c *compiler) versionAndAttributes(f *parsedFile) {
	d := f.d
	if v, ok := f.fields["version"]; ok {
		if t, ok := d.scalar(v.value, v.keyAt, "version"); ok && t.value != "1" {
			d.errorf(v.value, "unsupported version %s: this dirbridge reads version 1", quoteShort(t.value))
		}
	}
	a, ok := f.fields["directoryAttributes"]
	if !ok {
		return
	}
	for _, t := range d.list(a.value, a.keyAt, "directoryAttributes") {
		if !validAttrName(t.value) {
			c.errs.add(t.at.file, t.at.line, t.at.col, "invalid attribute name %s", quoteShort(t.value))
			continue
		}
		c.declared[strings.ToLower(t.value)] = t.value
	}
}

// compiledScope decides who the mapping is about.
type compiledScope struct {
	base      string // normalized DN; "" for the whole directory
	filter    *filterNode
	filterSrc string // as written, for Explain
	when      *program
}

func (c *compiler) scopeSection(d *decoder, f field) compiledScope {
	var s compiledScope
	for _, sf := range d.fields(f.value, "scope", []string{"users"}) {
		for _, u := range d.fields(sf.value, "scope.users", []string{"base", "filter", "when"}) {
			t, ok := d.scalar(u.value, u.keyAt, "scope.users."+u.key)
			if !ok {
				continue
			}
			switch u.key {
			case "base":
				n, err := normalizeDN(t.value)
				if err != nil {
					c.errorAt(t, 0, "scope.users.base: %s is not a valid DN", quoteShort(t.value))
				}
				s.base = n
			case "filter":
				s.filter, s.filterSrc = c.filter(t), t.value
			case "when":
				s.when = c.compile(t, exprCtx{what: "scope.users.when"}, kindBool)
			}
		}
	}
	return s
}

// filter compiles an LDAP filter and checks its attribute names.
func (c *compiler) filter(t text) *filterNode {
	n, attrs, err := parseFilter(t.value)
	if err != nil {
		fe := err.(*filterError)
		c.errorAt(t, runeOffset(t.value, fe.off), "scope.users.filter: %s in %s", fe.msg, quoteShort(t.value))
		return nil
	}
	ok := true
	for _, a := range attrs {
		lower := strings.ToLower(a.name)
		_, known := knownAttributes[lower]
		_, declared := c.declared[lower]
		if !known && !declared {
			c.errorAt(t, runeOffset(t.value, a.off), "scope.users.filter: unknown directory attribute %q%s",
				a.name, suggest(a.name, attrNames(c.declared)))
			ok = false
			continue
		}
		c.used[lower] = true
	}
	if !ok {
		return nil
	}
	return n
}

func runeOffset(s string, byteOff int) int {
	if byteOff > len(s) {
		byteOff = len(s)
	}
	return utf8.RuneCountInString(s[:byteOff])
}

// compiledIdentity holds the identity expressions by identityFields index;
// the anchor is an attribute name, not an expression.
type compiledIdentity struct {
	anchor string // lower case
	progs  []*program
}

var identityTextDefaults = map[string]string{
	"givenName": "givenName", "familyName": "sn", "displayName": "displayName", "email": "mail",
}

func (c *compiler) identitySection(d *decoder, f field) compiledIdentity {
	id := compiledIdentity{anchor: "objectguid", progs: make([]*program, len(identityFields))}
	given, present := map[string]text{}, map[string]bool{}
	for _, fl := range d.fields(f.value, "identity", identityFieldNames()) {
		present[fl.key] = true
		if t, ok := d.scalar(fl.value, fl.keyAt, "identity."+fl.key); ok {
			given[fl.key] = t
		}
	}
	if t, ok := given["anchor"]; ok {
		id.anchor = c.anchor(t)
	}
	c.used[id.anchor] = true
	if !present["userName"] {
		d.errorf(f.keyAt, "identity needs userName, e.g. userName: lower(sAMAccountName) + \"@corp.example\"")
	}
	at := d.posOf(f.keyAt)
	for i, fld := range identityFields {
		t, ok := given[fld.name]
		if !ok && present[fld.name] {
			continue // its error is reported
		}
		if !ok {
			def, hasDef := identityDefaults[fld.name]
			if !hasDef {
				def, hasDef = identityTextDefaults[fld.name]
			}
			if !hasDef {
				continue
			}
			t = text{value: def, at: at}
		}
		if fld.name == "anchor" {
			continue
		}
		kind := kindString
		if fld.isBool {
			kind = kindBool
		}
		id.progs[i] = c.compile(t, exprCtx{what: "identity." + fld.name, attr: fld.name, visible: i}, kind)
	}
	return id
}

func (c *compiler) anchor(t text) string {
	for _, a := range anchorAttributes {
		if strings.EqualFold(a, t.value) {
			return strings.ToLower(a)
		}
	}
	c.errorAt(t, 0, "identity.anchor: %s cannot be the anchor (use one of %s)", quoteShort(t.value),
		strings.Join(anchorAttributes, ", "))
	return "objectguid"
}
