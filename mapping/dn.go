package mapping

import (
	"errors"
	"sort"
	"strings"
)

var errBadDN = errors.New("not a distinguished name")

// normalizeDN returns a canonical form of an RFC 4514 DN for comparison:
// attribute types and values lower-cased (AD compares DNs case-insensitively),
// spaces around separators dropped, escapes decoded and re-encoded one way,
// and the AVAs of a multi-valued RDN sorted. "OU=Staff, DC=Corp" and
// "ou=staff,dc=corp" normalize alike.
func normalizeDN(dn string) (string, error) {
	if strings.TrimSpace(dn) == "" {
		return "", nil // the root: every entry is below it
	}
	if n, ok := normalizeSimpleDN(dn); ok {
		return n, nil
	}
	return normalizeEscapedDN(dn)
}

// normalizeEscapedDN is the general case of normalizeDN.
func normalizeEscapedDN(dn string) (string, error) {
	rdns, err := splitUnescaped(dn, ",;")
	if err != nil {
		return "", err
	}
	out := make([]string, 0, len(rdns))
	for _, rdn := range rdns {
		n, err := normalizeRDN(rdn)
		if err != nil {
			return "", err
		}
		out = append(out, n)
	}
	return strings.Join(out, ","), nil
}

// normalizeSimpleDN handles the common DN with no escapes, quotes,
// multi-valued RDNs or spaces without allocating more than the result; it
// reports false for anything else.
func normalizeSimpleDN(dn string) (string, bool) {
	var b strings.Builder
	b.Grow(len(dn))
	rdnStart, seenEq := true, false
	for i := 0; i < len(dn); i++ {
		c := dn[i]
		switch {
		case strings.IndexByte("\\\"+;<>#", c) >= 0 || c >= 0x80:
			return "", false // escapes and characters the general case re-escapes
		case c == ' ' && !innerSpace(dn, i):
			return "", false
		case c == ',':
			if rdnStart || !seenEq {
				return "", false // empty RDN, or no type=value
			}
			rdnStart, seenEq = true, false
		case c == '=':
			if rdnStart || seenEq {
				return "", false // no attribute type, or "=" inside a value
			}
			seenEq = true
		case !seenEq && !isNameByte(c):
			return "", false // a type is a name or an OID
		default:
			rdnStart = false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	n := b.String()
	return n, !rdnStart && rdnsHaveEquals(n)
}

func isNameByte(c byte) bool {
	return c == '-' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// innerSpace reports whether the space at i is inside a value ("CN=Zoe
// Smith"), not around a separator, where normalizing would drop it.
func innerSpace(dn string, i int) bool {
	if i == 0 || i == len(dn)-1 {
		return false
	}
	prev, next := dn[i-1], dn[i+1]
	return prev != ',' && prev != '=' && prev != ' ' && next != ',' && next != '=' && next != ' '
}

func rdnsHaveEquals(n string) bool {
	for len(n) > 0 {
		rdn, rest, _ := strings.Cut(n, ",")
		if strings.IndexByte(rdn, '=') <= 0 {
			return false
		}
		n = rest
	}
	return true
}

func normalizeRDN(rdn string) (string, error) {
	avas, err := splitUnescaped(rdn, "+")
	if err != nil {
		return "", err
	}
	for i, ava := range avas {
		typ, val, ok := strings.Cut(ava, "=")
		typ = strings.ToLower(strings.TrimSpace(typ))
		if !ok || !validAttrName(typ) {
			return "", errBadDN // a type is a name or an OID: `"=x` is no RDN
		}
		v, err := decodeDNValue(strings.TrimSpace(val))
		if err != nil {
			return "", err
		}
		avas[i] = typ + "=" + encodeDNValue(strings.ToLower(v))
	}
	sort.Strings(avas)
	return strings.Join(avas, "+"), nil
}

// splitUnescaped splits s at any byte of seps that is not escaped with a
// backslash and not inside a quoted value.
func splitUnescaped(s, seps string) ([]string, error) {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++ // the escaped byte (or first hex digit) is never a separator
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errBadDN
	}
	return append(parts, s[start:]), nil
}

func decodeDNValue(v string) (string, error) {
	if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) && len(v) >= 2 {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, `\`) {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", errBadDN
		}
		if i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String(), nil
}

func encodeDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		special := strings.IndexByte(`,+"\<>;=`, c) >= 0 ||
			(i == 0 && (c == ' ' || c == '#')) || (i == len(v)-1 && c == ' ')
		if special {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// dnUnder reports whether the normalized dn is base or below it.
func dnUnder(dn, base string) bool {
	if base == "" {
		return true
	}
	if dn == base {
		return true
	}
	cut := len(dn) - len(base) - 1 // where the separating comma must be
	if cut < 1 || !strings.HasSuffix(dn, base) || dn[cut] != ',' {
		return false
	}
	// An escaped comma ("cn=a\,ou=x") is part of a value, not a separator.
	slashes := 0
	for i := cut - 1; i >= 0 && dn[i] == '\\'; i-- {
		slashes++
	}
	return slashes%2 == 0
}

// firstRDNValue returns the value of the first RDN of a DN, lower-cased:
// "CN=Person,CN=Schema,..." gives "person", for AD's objectCategory shorthand.
func firstRDNValue(dn string) string {
	if len(dn) > 3 && strings.EqualFold(dn[:3], "cn=") {
		if end := strings.IndexByte(dn, ','); end > 3 && !strings.ContainsAny(dn[:end], `\" +`) {
			return strings.ToLower(dn[3:end]) // "CN=Person,CN=Schema,...": no escapes to decode
		}
	}
	n, err := normalizeDN(dn)
	if err != nil {
		return ""
	}
	rdns, err := splitUnescaped(n, ",")
	if err != nil || len(rdns) == 0 {
		return ""
	}
	_, v, _ := strings.Cut(rdns[0], "=")
	d, _ := decodeDNValue(v)
	return d
}
