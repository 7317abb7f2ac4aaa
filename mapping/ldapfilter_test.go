package mapping

import (
	"strings"
	"testing"
)

func TestFilterMatch(t *testing.T) {
	attrs := map[string][]string{
		"objectcategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example"},
		"objectclass":        {"top", "person", "user"},
		"useraccountcontrol": {"66050"}, // 0x10202
		"department":         {"Sales (EMEA)"},
		"employeeid":         {"00123"},
		"mail":               {"Zoe@Corp.Example"},
		"whencreated":        {"20240102030405.0Z"},
	}
	cases := []struct {
		filter string
		want   bool
	}{
		{"(objectCategory=person)", true},
		{"objectCategory=person", true},
		{"(objectCategory=computer)", false},
		{"(objectCategory=CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example)", true},
		{"(objectClass=USER)", true},
		{"(objectClass=*)", true},
		{"(mail=*)", true},
		{"(title=*)", false},
		{"(mail=zoe@*)", true},
		{"(mail=*@corp.example)", true},
		{"(mail=z*@*.example)", true},
		{"(mail=*q*)", false},
		{"(department=Sales \\28EMEA\\29)", true},
		{"(userAccountControl:1.2.840.113556.1.4.803:=2)", true},
		{"(userAccountControl:1.2.840.113556.1.4.803:=3)", false},
		{"(userAccountControl:1.2.840.113556.1.4.804:=3)", true},
		{"(!(userAccountControl:1.2.840.113556.1.4.803:=2))", false},
		{"(employeeID>=100)", true},
		{"(employeeID<=99)", false},
		{"(whenCreated>=20240101000000.0Z)", true},
		{"(whenCreated<=20231231000000.0Z)", false},
		{"(mail~=zoe@corp.example)", true},
		{"(&(objectCategory=person)(objectClass=user)(|(department=Sales*)(department=Marketing)))", true},
		{"(&(objectCategory=person)(!(mail=*@corp.example)))", false},
		{"(|(title=x)(title=y))", false},
	}
	for _, c := range cases {
		f, _, err := parseFilter(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := f.match(attrs); got != c.want {
			t.Errorf("%s = %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	cases := []struct {
		filter string
		off    int
		msg    string
	}{
		{"(mail=x", 0, "missing ) for this ("},
		{"(&)", 2, "& and | need at least one filter"},
		{"(mail=x))", 8, `unexpected ")" after the end of the filter`},
		{"(=x)", 1, `expected attribute=value in "=x"`},
		{"(ma il=x)", 1, `invalid attribute name "ma il"`},
		{"(uac:1.2.3:=2)", 5, `unsupported matching rule "1.2.3"`},
		{"(uac:1.2.840.113556.1.4.803:=two)", 29, "the bitwise matching rule needs a decimal number"},
		{"(mail=a\\zz)", 7, "a backslash in a filter value must start a hex escape"},
		{"(mail>x)", 5, "expected = after >"},
		{"  (mail=x", 2, "missing ) for this ("},
		{strings.Repeat("(!", 70) + "(a=b)" + strings.Repeat(")", 70), 128, "nested more than 64 levels"},
	}
	for _, c := range cases {
		_, _, err := parseFilter(c.filter)
		fe, ok := err.(*filterError)
		if !ok {
			t.Errorf("%s: err = %v, want a filterError", c.filter, err)
			continue
		}
		if fe.off != c.off || !strings.Contains(fe.msg, c.msg) {
			t.Errorf("%s: error at %d %q, want at %d %q", c.filter, fe.off, fe.msg, c.off, c.msg)
		}
	}
}

func TestNormalizeDN(t *testing.T) {
	cases := []struct{ in, want string }{
		{"CN=Zoe,OU=Staff,DC=Corp,DC=Example", "cn=zoe,ou=staff,dc=corp,dc=example"},
		{"cn = Zoe , ou=Staff", "cn=zoe,ou=staff"},
		{`CN=Smith\, John,OU=Staff`, `cn=smith\, john,ou=staff`},
		{`CN=Smith\2C John,OU=Staff`, `cn=smith\, john,ou=staff`},
		{`CN="Smith, John",OU=Staff`, `cn=smith\, john,ou=staff`},
		{"OU=B+CN=A,DC=x", "cn=a+ou=b,dc=x"},
		{"", ""},
	}
	for _, c := range cases {
		got, err := normalizeDN(c.in)
		if err != nil || got != c.want {
			t.Errorf("normalizeDN(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"no equals sign", "CN=a,=b", `CN=trailing\`, `CN="open`, `"=",OU=x`, `C N=a`} {
		if _, err := normalizeDN(bad); err == nil {
			t.Errorf("normalizeDN(%q) accepted a malformed DN", bad)
		}
	}
}

func TestDNUnder(t *testing.T) {
	cases := []struct {
		dn, base string
		want     bool
	}{
		{"cn=a,ou=staff,dc=x", "ou=staff,dc=x", true},
		{"ou=staff,dc=x", "ou=staff,dc=x", true},
		{"cn=a,ou=oldstaff,dc=x", "ou=staff,dc=x", false},
		{`cn=a\,ou=staff,dc=x`, "ou=staff,dc=x", false},
		{`cn=a\\,ou=staff,dc=x`, "ou=staff,dc=x", true},
		{"cn=a,dc=y", "", true},
	}
	for _, c := range cases {
		if got := dnUnder(c.dn, c.base); got != c.want {
			t.Errorf("dnUnder(%q, %q) = %v", c.dn, c.base, got)
		}
	}
}

// TestSimpleDNAgreesWithGeneral checks the one-pass DN normalizer against
// the general one on every DN the other tests use plus generated ones.
func TestSimpleDNAgreesWithGeneral(t *testing.T) {
	dns := []string{"CN=Zoe Smith,OU=Staff,DC=corp,DC=example", "cn=a=b,dc=x", "CN=#x,DC=y", "CN=a <b>,DC=y",
		"CN= lead,DC=y", "CN=trail ,DC=y", "CN=two  spaces,DC=y", "=x", "CN=a,,DC=y", "CN,DC=y", "CN=a,DC=y,", "CN=",
		"OU=Staff", "cn=PC042$,dc=x"}
	parts := []string{"CN=", "a", "B", " ", ",", "=", "#", "\\,", "+", "é", "OU=x", "dc=y"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n, x := 0, i; n < 6; n, x = n+1, x/len(parts) {
			b.WriteString(parts[(x+n*7)%len(parts)])
		}
		dns = append(dns, b.String())
	}
	for _, dn := range dns {
		simple, ok := normalizeSimpleDN(dn)
		if !ok {
			continue
		}
		general, err := normalizeEscapedDN(dn)
		if err != nil || general != simple {
			t.Errorf("%q: one-pass %q, general %q (%v)", dn, simple, general, err)
		}
	}
}
