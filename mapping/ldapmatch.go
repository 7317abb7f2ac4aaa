package mapping

import (
	"strconv"
	"strings"
)

// buildItem compiles one comparison; off is the offset of raw in the filter.
func buildItem(attr, rule string, op byte, raw string, off int) (*filterNode, error) {
	if rule != "" {
		return buildExtensible(attr, rule, raw, off)
	}
	switch op {
	case '~':
		op = '=' // approximate match: the directory's notion of "sounds like" is equality here
	case '>', '<':
		v, err := unescapeFilterValue(raw, off)
		if err != nil {
			return nil, err
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		return &filterNode{op: op, attr: attr, value: strings.ToLower(v), num: n, isNum: perr == nil}, nil
	}
	if raw == "*" {
		return &filterNode{op: '*', attr: attr}, nil
	}
	if !strings.Contains(raw, "*") {
		v, err := unescapeFilterValue(raw, off)
		if err != nil {
			return nil, err
		}
		if attr == "objectcategory" && !strings.Contains(v, "=") {
			v = "cn=" + v // AD shorthand: objectCategory=person means CN=Person,CN=Schema,...
		}
		return &filterNode{op: '=', attr: attr, value: strings.ToLower(v)}, nil
	}
	parts := strings.Split(raw, "*")
	subs := make([]string, len(parts))
	for i, part := range parts {
		v, err := unescapeFilterValue(part, off)
		if err != nil {
			return nil, err
		}
		subs[i] = strings.ToLower(v)
	}
	return &filterNode{op: 's', attr: attr, subs: subs}, nil
}

func buildExtensible(attr, rule, raw string, off int) (*filterNode, error) {
	v, err := unescapeFilterValue(raw, off)
	if err != nil {
		return nil, err
	}
	bits, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, &filterError{off, "the bitwise matching rule needs a decimal number, not " + strconv.Quote(v)}
	}
	switch rule {
	case ruleBitAnd:
		return &filterNode{op: 'b', attr: attr, bits: bits}, nil
	case ruleBitOr:
		return &filterNode{op: 'o', attr: attr, bits: bits}, nil
	}
	return nil, &filterError{off - len(rule) - 2, "unsupported matching rule " + strconv.Quote(rule) +
		" (supported: " + ruleBitAnd + " bit and, " + ruleBitOr + " bit or)"}
}

// unescapeFilterValue decodes RFC 4515 \XX escapes.
func unescapeFilterValue(s string, off int) (string, error) {
	if !strings.Contains(s, `\`) {
		if strings.ContainsAny(s, "()") {
			return "", &filterError{off, "parentheses in a value must be written \\28 and \\29"}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", &filterError{off + i, `a backslash in a filter value must start a hex escape such as \2a`}
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

// match evaluates the filter against a person's attributes (lower-case keys).
func (f *filterNode) match(attrs map[string][]string) bool {
	switch f.op {
	case '&':
		for _, c := range f.children {
			if !c.match(attrs) {
				return false
			}
		}
		return true
	case '|':
		for _, c := range f.children {
			if c.match(attrs) {
				return true
			}
		}
		return false
	case '!':
		return !f.children[0].match(attrs)
	case '*':
		return f.attr == "objectclass" || len(attrs[f.attr]) > 0 // every entry has an objectClass
	}
	for _, v := range attrs[f.attr] {
		if f.matchValue(v) {
			return true
		}
	}
	return false
}

func (f *filterNode) matchValue(v string) bool {
	switch f.op {
	case '=':
		return f.equal(v)
	case 's':
		return matchSubstrings(strings.ToLower(v), f.subs)
	case '>', '<':
		return f.compare(v)
	case 'b', 'o':
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return false
		}
		if f.op == 'b' {
			return n&f.bits == f.bits
		}
		return n&f.bits != 0
	}
	return false
}

// equal compares case-insensitively; for objectCategory a shorthand value
// ("cn=person") matches the first RDN of the stored DN value.
func (f *filterNode) equal(v string) bool {
	if f.attr == "objectcategory" && strings.Count(f.value, "=") == 1 {
		if strings.Contains(v, "=") {
			return "cn="+firstRDNValue(v) == f.value
		}
		return "cn="+strings.ToLower(v) == f.value
	}
	return strings.EqualFold(v, f.value)
}

func (f *filterNode) compare(v string) bool {
	if f.isNum {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			if f.op == '>' {
				return n >= f.num
			}
			return n <= f.num
		}
	}
	c := strings.Compare(strings.ToLower(v), f.value)
	if f.op == '>' {
		return c >= 0
	}
	return c <= 0
}

func matchSubstrings(v string, subs []string) bool {
	if !strings.HasPrefix(v, subs[0]) {
		return false
	}
	v = v[len(subs[0]):]
	last := len(subs) - 1
	for _, any := range subs[1:last] {
		i := strings.Index(v, any)
		if i < 0 {
			return false
		}
		v = v[i+len(any):]
	}
	return strings.HasSuffix(v, subs[last])
}
