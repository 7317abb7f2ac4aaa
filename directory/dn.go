package directory

import "strings"

// NormalizeDN lower-cases a DN and removes spaces around its separators, so
// that "CN=Sales, OU=Groups,DC=corp" and "cn=sales,ou=groups,dc=corp" meet.
// Escaped commas (`CN=Doe\, Jane`) stay inside their RDN.
func NormalizeDN(dn string) string {
	var parts []string
	start, escaped := 0, false
	for i := 0; i < len(dn); i++ {
		switch {
		case escaped:
			escaped = false
		case dn[i] == '\\':
			escaped = true
		case dn[i] == ',':
			parts = append(parts, dn[start:i])
			start = i + 1
		}
	}
	parts = append(parts, dn[start:])
	for i, p := range parts {
		if k, v, ok := strings.Cut(p, "="); ok {
			p = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
		}
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}
