package mapping

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

var fuzzGroups = dirGroups{"CN=Tier0,OU=Groups,DC=corp,DC=example", "CN=All,OU=Groups,DC=corp,DC=example"}

// FuzzEvaluate evaluates mappings that use every function over hostile
// attribute values: huge, binary, invalid UTF-8, empty and multi-valued (a
// newline separates values). Expressions may fail on garbage (a date that
// is not a date); they must never panic, and no Go runtime error may surface.
func FuzzEvaluate(f *testing.F) {
	var maps []*Mapping
	for _, file := range []string{"testdata/fuzz/strings.yaml", "testdata/fuzz/times.yaml"} {
		m, err := Load([]string{file}, fuzzGroups)
		if err != nil {
			f.Fatal(err)
		}
		maps = append(maps, m)
	}
	f.Add("CN=Zoë,OU=Staff,DC=corp,DC=example", "Zoë", "Ångström", "zoe@corp.example", "512", "134102016000000000")
	f.Add("", "", "", "", "", "")
	f.Add("CN=a\\,b,OU=Admins,OU=Staff,DC=corp,DC=example", "\x00\xff\xfe", "a\nb\nc", "SMTP:x@y\nsmtp:z@w", "-1", "9223372036854775807")
	f.Add("OU=Staff,DC=corp,DC=example", strings.Repeat("é", 10000), strings.Repeat("a*", 5000), "@@@", "99999999999999999999", "x")
	f.Add("=,=,\\", "\u202e\u0301\u0301", "한국어", "\U0001F600", "2", "20260101000000Z")
	f.Add("CN=\"q\",OU=Staff,DC=corp,DC=example", "-5", "2026-13-45", "\n\n\n", "0x10", "-9223372036854775808")
	f.Fuzz(func(t *testing.T, dn, given, sn, mail, uac, expires string) {
		p := fuzzPerson(dn, given, sn, mail, uac, expires)
		mem := &memIndex{direct: map[string][]string{"p": {"gid:cn=all,ou=groups,dc=corp,dc=example"}},
			taken: map[string]string{"/userName/" + strings.ToLower(given): "other"}}
		for i, m := range maps {
			_, err := m.Evaluate(p, mem, fnNow)
			if err != nil && (i == 0 || strings.Contains(err.Error(), "runtime error") || strings.Contains(err.Error(), "panic")) {
				t.Fatalf("%v", err)
			}
		}
	})
}

func fuzzPerson(dn, given, sn, mail, uac, expires string) Person {
	split := func(s string) []string { return strings.Split(s, "\n") }
	return Person{ID: "p", DN: dn, Attributes: map[string][]string{
		"objectguid": {given + sn}, "givenname": split(given), "sn": split(sn), "mail": split(mail),
		"samaccountname": {given}, "displayname": split(sn + given), "proxyaddresses": split(mail),
		"objectcategory": {dn}, "useraccountcontrol": {uac}, "employeeid": split(uac),
		"accountexpires": {expires}, "whencreated": {expires}, "extensionattribute2": {expires},
	}}
}

// TestEvaluateRecoversPanics: whatever goes wrong in one person's
// evaluation must come back as an error, not stop the agent.
func TestEvaluateRecoversPanics(t *testing.T) {
	m, err := Parse("p.yaml", []byte("identity:\n  userName: sAMAccountName\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m.identity.progs[identityFieldIndex("userName")].direct = &directRead{fn: func(...any) (any, error) { panic("boom") }}
	_, err = m.Evaluate(Person{ID: "x", Attributes: map[string][]string{"objectguid": {"g"}}}, nil, time.Now())
	if err == nil || !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParse feeds arbitrary mapping files to the loader: a typo while an
// admin edits a file must give errors, never a crash of the running agent
// that reloads it.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"../examples/mapping.yaml", "testdata/errors/mistakes.yaml",
		"testdata/fuzz/strings.yaml", "testdata/bench/typical.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("identity:\n  userName: |\n    a +\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("f.yaml", data, fuzzGroups)
		if err == nil && m == nil {
			t.Fatal("no mapping and no error")
		}
		var list Errors
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, e := range list {
			if e.Line < 1 || e.Col < 1 {
				t.Fatalf("bad position: %v", e)
			}
		}
	})
}
