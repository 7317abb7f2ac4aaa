package mapping

import (
	"fmt"
	"strings"
)

// filterNode is a compiled RFC 4515 LDAP filter, evaluated by the agent
// against the stored snapshot of a person rather than by the directory: the
// agent sees changes through DirSync or uSNChanged and must decide scope
// itself (docs/design.md section 5).
type filterNode struct {
	op       byte // '&', '|', '!', '=', '*' (presence), 's' (substrings), '>', '<', 'b' (bit and), 'o' (bit or)
	attr     string
	value    string   // lower-cased assertion value
	subs     []string // substrings: initial, any..., final ("" when absent)
	bits     int64    // bitwise matching rules
	num      int64    // numeric value of the assertion for >= and <=
	isNum    bool
	children []*filterNode
}

const (
	ruleBitAnd   = "1.2.840.113556.1.4.803" // LDAP_MATCHING_RULE_BIT_AND
	ruleBitOr    = "1.2.840.113556.1.4.804" // LDAP_MATCHING_RULE_BIT_OR
	maxFilterLen = 64 << 10                 // no real scope filter is longer
	maxFilterDep = 64
)

// filterError is a syntax error at a byte offset of the filter text.
type filterError struct {
	off int
	msg string
}

func (e *filterError) Error() string { return e.msg }

type filterParser struct {
	s     string
	i     int
	depth int
	attrs []filterAttr // attribute names used, with offsets, for validation
}

type filterAttr struct {
	name string
	off  int
}

// parseFilter compiles an LDAP filter; the outer parentheses may be left out.
func parseFilter(s string) (*filterNode, []filterAttr, error) {
	if len(s) > maxFilterLen {
		return nil, nil, &filterError{0, "filter is longer than 64 KiB"}
	}
	t := strings.TrimSpace(s)
	lead := strings.Index(s, t)
	if !strings.HasPrefix(t, "(") {
		p := &filterParser{s: t}
		n, err := p.item(len(t))
		return n, shiftAttrs(p.attrs, lead), shiftErr(err, lead)
	}
	p := &filterParser{s: t}
	n, err := p.filter()
	if err == nil && p.i != len(t) {
		err = &filterError{p.i, fmt.Sprintf("unexpected %q after the end of the filter", t[p.i:])}
	}
	return n, shiftAttrs(p.attrs, lead), shiftErr(err, lead)
}

func shiftAttrs(a []filterAttr, by int) []filterAttr {
	for i := range a {
		a[i].off += by
	}
	return a
}

func shiftErr(err error, by int) error {
	if fe, ok := err.(*filterError); ok {
		fe.off += by
		return fe
	}
	return err
}

func (p *filterParser) errorf(off int, format string, args ...any) error {
	return &filterError{off, fmt.Sprintf(format, args...)}
}

// filter parses "(" filtercomp ")".
func (p *filterParser) filter() (*filterNode, error) {
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, p.errorf(p.i, "expected ( to start a filter")
	}
	if p.depth++; p.depth > maxFilterDep {
		return nil, p.errorf(p.i, "filter is nested more than %d levels deep", maxFilterDep)
	}
	defer func() { p.depth-- }()
	p.i++
	end := p.matchingParen(p.i - 1)
	if end < 0 {
		return nil, p.errorf(p.i-1, "missing ) for this (")
	}
	var n *filterNode
	var err error
	switch c := p.peek(); c {
	case '&', '|':
		p.i++
		n = &filterNode{op: c}
		n.children, err = p.list(end)
	case '!':
		p.i++
		n = &filterNode{op: '!'}
		var child *filterNode
		child, err = p.filter()
		n.children = []*filterNode{child}
	default:
		n, err = p.item(end)
	}
	if err != nil {
		return nil, err
	}
	if p.i != end {
		return nil, p.errorf(p.i, "unexpected %q in filter", p.s[p.i:end])
	}
	p.i = end + 1
	return n, nil
}

func (p *filterParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// matchingParen finds the ) closing the ( at open; values escape parentheses
// as \28 and \29, so a plain count is enough.
func (p *filterParser) matchingParen(open int) int {
	depth := 0
	for i := open; i < len(p.s); i++ {
		switch p.s[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (p *filterParser) list(end int) ([]*filterNode, error) {
	var out []*filterNode
	for p.i < end {
		n, err := p.filter()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, p.errorf(p.i, "& and | need at least one filter")
	}
	return out, nil
}

// item parses attr op value up to end.
func (p *filterParser) item(end int) (*filterNode, error) {
	body := p.s[p.i:end]
	start := p.i
	opAt := strings.IndexAny(body, "=~<>")
	if opAt <= 0 {
		return nil, p.errorf(start, "expected attribute=value in %q", body)
	}
	attr, rule := body[:opAt], ""
	opLen := 1
	op := body[opAt]
	if op != '=' {
		if opAt+1 >= len(body) || body[opAt+1] != '=' {
			return nil, p.errorf(start+opAt, "expected = after %c", op)
		}
		opLen = 2
	}
	if strings.HasSuffix(attr, ":") && op == '=' {
		attr, rule, _ = strings.Cut(strings.TrimSuffix(attr, ":"), ":")
	}
	if !validAttrName(attr) {
		return nil, p.errorf(start, "invalid attribute name %q", attr)
	}
	p.attrs = append(p.attrs, filterAttr{attr, start})
	raw := body[opAt+opLen:]
	p.i = end
	return buildItem(strings.ToLower(attr), rule, op, raw, start+opAt+opLen)
}

func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '.' || c == ';' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			return false
		}
	}
	return true
}
