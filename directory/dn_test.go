package directory

import "testing"

func TestNormalizeDN(t *testing.T) {
	for in, want := range map[string]string{
		"CN=Sales, OU=Groups,DC=corp": "cn=sales,ou=groups,dc=corp",
		`CN=Doe\, Jane,OU=Staff`:      `cn=doe\, jane,ou=staff`,
		" cn = x , dc = y ":           "cn=x,dc=y",
	} {
		if got := NormalizeDN(in); got != want {
			t.Errorf("NormalizeDN(%q) = %q, want %q", in, got, want)
		}
	}
}
