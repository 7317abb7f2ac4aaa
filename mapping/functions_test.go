package mapping

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var fnNow = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// evalOne compiles expr as an attribute of a one-app mapping and evaluates
// it for p; it returns the attribute's value.
func evalOne(t *testing.T, expr string, p Person, mem Memberships) (any, Result, error) {
	t.Helper()
	src := fmt.Sprintf("directoryAttributes: [customText, nonexistentButDeclared]\nidentity:\n  userName: sAMAccountName\n"+
		"apps:\n  app:\n    assign:\n      - when: \"true\"\n    attributes:\n      out: %q\n", expr)
	m, err := Parse("fn.yaml", []byte(src), dirGroups{"CN=Sales,OU=Groups,DC=corp,DC=example", "CN=All Staff,OU=Groups,DC=corp,DC=example"})
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	r, err := m.Evaluate(p, mem, fnNow)
	if err != nil {
		return nil, r, err
	}
	return r.Apps["app"].User.Attributes["out"], r, nil
}

func fnPerson() Person {
	return Person{ID: "p1", DN: "CN=Zoë Ångström,OU=Sales,OU=Staff,DC=corp,DC=example", Attributes: map[string][]string{
		"objectguid":          {"guid-1"},
		"samaccountname":      {"zangstrom"},
		"givenname":           {"  Zoë  "},
		"sn":                  {"Ångström"},
		"mail":                {"Zoe.Angstrom@Corp.Example"},
		"proxyaddresses":      {"SMTP:zoe@corp.example", "smtp:za@corp.example", "x400:c=us"},
		"useraccountcontrol":  {"66050"},              // 0x10202: disabled, normal account, password never expires
		"accountexpires":      {"134102016000000000"}, // 2025-12-14T16:00:00Z
		"whencreated":         {"20240102030405.0Z"},
		"extensionattribute2": {"2026-12-01"},
		"customtext":          {"custom"},
		"department":          {""},
	}}
}

func fnMembers() *memIndex {
	return &memIndex{
		direct: map[string][]string{"p1": {"gid:cn=sales,ou=groups,dc=corp,dc=example"}},
		parent: map[string][]string{"gid:cn=sales,ou=groups,dc=corp,dc=example": {"gid:cn=all staff,ou=groups,dc=corp,dc=example"}},
		taken:  map[string]string{"app/out/zangstrom": "p2", "app/out/zoe.angstrom": "p1"},
	}
}

// TestFunctions checks every function of the library, as documented in
// docs/mapping.md, on one person.
func TestFunctions(t *testing.T) {
	for _, c := range functionCases {
		got, _, err := evalOne(t, c.expr, fnPerson(), fnMembers())
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
		// Simple calls are run without the VM (direct.go); wrapping the
		// expression in a list forces the VM, which must agree.
		if strings.HasPrefix(c.expr, "let ") {
			continue
		}
		viaVM, _, err := evalOne(t, "["+c.expr+"][0]", fnPerson(), fnMembers())
		if err != nil || !reflect.DeepEqual(viaVM, c.want) {
			t.Errorf("[%s][0] = %#v, %v; want %#v", c.expr, viaVM, err, c.want)
		}
	}
}

var functionCases = []struct {
	expr string
	want any
}{
	{`lower(mail)`, "zoe.angstrom@corp.example"},
	{`upper(sAMAccountName)`, "ZANGSTROM"},
	{`trim(givenName)`, "Zoë"},
	{`normalize(trim(givenName) + " " + sn)`, "Zoe Angstrom"},
	{`normalize("Łukasz Øster Straße Æther")`, "Lukasz Oster Strasse AEther"},
	{`replace(mail, "@Corp.Example", "@corp.test")`, "Zoe.Angstrom@corp.test"},
	{`regexReplace(mail, "@.*$", "")`, "Zoe.Angstrom"},
	{`regexReplace(sn, "[^a-zA-Z]", "_")`, "_ngstr_m"},
	{`split(mail, "@")`, []any{"Zoe.Angstrom", "Corp.Example"}},
	{`split(department, ",")`, nil},
	{`join(values(proxyAddresses), ";")`, "SMTP:zoe@corp.example;smtp:za@corp.example;x400:c=us"},
	{`join(["a", "b"], "-")`, "a-b"},
	{`coalesce(department, title, mail)`, "Zoe.Angstrom@Corp.Example"},
	{`coalesce(department, "Unassigned")`, "Unassigned"},
	{`left(trim(givenName), 2)`, "Zo"},
	{`right(sn, 3)`, "röm"},
	{`left(sn, 99)`, "Ångström"},
	{`substring(sn, 1, 4)`, "ngst"},
	{`substring(sn, 20, 4)`, nil},
	{`formatTime(parseTime(extensionAttribute2, "date"), "02.01.2006")`, "01.12.2026"},
	{`formatTime(parseTime("2026-01-02T03:04:05+02:00", "datetime"), "datetime")`, "2026-01-02T01:04:05Z"},
	{`formatTime(fileTime(accountExpires), "date")`, "2025-12-14"},
	{`formatTime(generalizedTime(whenCreated), "datetime")`, "2024-01-02T03:04:05Z"},
	{`formatTime(parseTime(whenCreated, "generalized"), "fileTime")`, "133486382450000000"},
	{`formatTime(fileTime("0"), "date")`, nil},
	{`formatTime(addDays(parseTime(extensionAttribute2, "date"), -1), "generalized")`, "20261130000000Z"},
	{`isSet(fileTime(accountExpires))`, true},
	{`isSet(parseTime(department, "date"))`, false},
	{`adDisabled(userAccountControl)`, true},
	{`adDisabled(department)`, false},
	{`hasFlag(userAccountControl, 0x10000)`, true},
	{`hasFlag(userAccountControl, 0x20)`, false},
	{`accountExpired(accountExpires)`, true},
	{`accountExpired("0")`, false},
	{`memberOf("CN=Sales,OU=Groups,DC=corp,DC=example")`, true},
	{`memberOf("cn=all staff, ou=groups, dc=corp, dc=example")`, false},
	{`memberOfNested("CN=All Staff,OU=Groups,DC=corp,DC=example")`, true},
	{`inOU("OU=Staff,DC=corp,DC=example")`, true},
	{`inOU("ou=sales, ou=staff, dc=CORP, dc=example")`, true},
	{`inOU("OU=Contractors,DC=corp,DC=example")`, false},
	{`values(proxyAddresses)`, []any{"SMTP:zoe@corp.example", "smtp:za@corp.example", "x400:c=us"}},
	{`values(otherMailbox)`, nil},
	{`map(filter(values(proxyAddresses), lower(#) startsWith "smtp:"), lower(trimPrefix(lower(#), "smtp:")))`,
		[]any{"zoe@corp.example", "za@corp.example"}},
	{`len(values(proxyAddresses))`, 3.0},
	{`first(values(proxyAddresses))`, "SMTP:zoe@corp.example"},
	{`attr("customText")`, "custom"},
	{`customText`, "custom"},
	{`SAMACCOUNTNAME`, "zangstrom"},
	{`unique([lower(sAMAccountName), lower(normalize(trim(givenName) + "." + sn))])`, "zoe.angstrom"},
	{`unique([department, "zangstrom2"])`, "zangstrom2"},
	{`guid(objectGUID)`, "guid-1"},
	{`dn`, "CN=Zoë Ångström,OU=Sales,OU=Staff,DC=corp,DC=example"},
	{`now() >= parseTime(extensionAttribute2, "date")`, false},
	{`identity.userName + "/" + identity.anchor`, "zangstrom/guid-1"},
	{`identity.givenName + " " + identity.familyName`, "  Zoë   Ångström"},
	{`identity.active`, false},
	{`department == "" ? "none" : department`, "none"},
	{`mail matches "(?i)@corp\\.example$"`, true},
	{`let d = lower(mail); d contains "angstrom"`, true},
	{`int("42") + 1`, 43.0},
	{`nonexistentButDeclared`, nil},
}
