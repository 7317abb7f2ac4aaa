package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const basicMapping = `
scope:
  users:
    base: "OU=Staff,DC=corp,DC=example"
    filter: "(&(objectCategory=person)(objectClass=user))"
identity:
  userName: lower(sAMAccountName) + "@corp.example"
  frozen: extensionAttribute1 == "leave-of-absence"
  protected: memberOf("CN=Tier0 Admins,OU=Groups,DC=corp,DC=example")
apps:
  slack:
    assign:
      - group: "CN=Slack Users,OU=Groups,DC=corp,DC=example"
    attributes:
      name.givenName: normalize(givenName)
`

var basicGroups = dirGroups{"CN=Tier0 Admins,OU=Groups,DC=corp,DC=example", "CN=Slack Users,OU=Groups,DC=corp,DC=example"}

func basicPerson() Person {
	return Person{ID: "p1", DN: "CN=Zoë Ångström,OU=Staff,DC=corp,DC=example", Attributes: map[string][]string{
		"objectguid":     {"0123456789abcdef"},
		"samaccountname": {"ZAngstrom"},
		"givenname":      {"Zoë"},
		"objectcategory": {"CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example"},
		"objectclass":    {"top", "person", "organizationalPerson", "user"},
	}}
}

func TestEvaluateBasic(t *testing.T) {
	m, err := Parse("basic.yaml", []byte(basicMapping), basicGroups)
	if err != nil {
		t.Fatal(err)
	}
	mem := &memIndex{direct: map[string][]string{"p1": {"gid:cn=slack users,ou=groups,dc=corp,dc=example"}}}
	r, err := m.Evaluate(basicPerson(), mem, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !r.InScope || r.Identity.UserName != "zangstrom@corp.example" || !r.Identity.Active || r.Identity.Protected {
		t.Fatalf("identity = %+v, in scope %v", r.Identity, r.InScope)
	}
	if r.Identity.Anchor != "33323130-3534-3736-3839-616263646566" {
		t.Errorf("anchor = %q: a 16-byte objectGUID must be formatted as AD shows it", r.Identity.Anchor)
	}
	slack := r.Apps["slack"]
	if !slack.Assigned || slack.User.Attributes["name.givenName"] != "Zoe" {
		t.Fatalf("slack = %+v", slack)
	}
	p := basicPerson()
	p.DN = "CN=Zoe,OU=Contractors,DC=corp,DC=example"
	r, err = m.Evaluate(p, mem, time.Now())
	if err != nil || r.InScope || r.Apps["slack"].Assigned {
		t.Fatalf("out of scope person: %+v, %v", r, err)
	}
}

const rulesMapping = `
identity:
  userName: sAMAccountName
  protected: memberOf("CN=Tier0,OU=Groups,DC=corp,DC=example") or hasFlag(userAccountControl, 0x10000)
  active: not adDisabled(userAccountControl) and not accountExpired(accountExpires)
  frozen: extensionAttribute1 == "leave-of-absence"
scope:
  users:
    base: "OU=Staff,DC=corp,DC=example"
    when: now() >= parseTime(extensionAttribute2, "date")
apps:
  salesforce:
    assign:
      - group: "CN=Sales Managers,OU=Groups,DC=corp,DC=example"
        profile: Sales Manager
        permissionSets: [Sales_Cloud_User, Reports]
      - when: department == "Sales"
        profile: Standard User
        permissionSets: Sales_Cloud_User
      - nestedGroup: "CN=All Staff,OU=Groups,DC=corp,DC=example"
        ou: "OU=Staff,DC=corp,DC=example"
        profile: Read Only
        groups: [everyone]
    userName: identity.userName + ".sf"
    frozen: identity.frozen or not identity.active
    active: "true"
    attributes:
      Email: mail
      Department: department
    onUpdate: [Email]
`

var rulesGroups = dirGroups{"CN=Tier0,OU=Groups,DC=corp,DC=example", "CN=Sales Managers,OU=Groups,DC=corp,DC=example",
	"CN=All Staff,OU=Groups,DC=corp,DC=example", "CN=Staff Nested,OU=Groups,DC=corp,DC=example"}

func rulesPerson(dept string) Person {
	return Person{ID: "p1", DN: "CN=A,OU=Staff,DC=corp,DC=example", Attributes: map[string][]string{
		"objectguid": {"g1"}, "samaccountname": {"a"}, "department": {dept}, "mail": {"a@corp.example"},
		"useraccountcontrol": {"514"}, "extensionattribute2": {"2026-01-01"},
	}}
}

func loadRules(t *testing.T) *Mapping {
	t.Helper()
	m, err := Parse("rules.yaml", []byte(rulesMapping), rulesGroups)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFirstMatchingRuleWins(t *testing.T) {
	m := loadRules(t)
	mem := &memIndex{
		direct: map[string][]string{"p1": {"gid:cn=sales managers,ou=groups,dc=corp,dc=example", "gid:cn=staff nested,ou=groups,dc=corp,dc=example"}},
		parent: map[string][]string{"gid:cn=staff nested,ou=groups,dc=corp,dc=example": {"gid:cn=all staff,ou=groups,dc=corp,dc=example"}},
	}
	r, err := m.Evaluate(rulesPerson("Sales"), mem, fnNow)
	if err != nil {
		t.Fatal(err)
	}
	sf := r.Apps["salesforce"]
	if sf.User.Profile != "Sales Manager" || !reflect.DeepEqual(sf.User.PermissionSets, []string{"Sales_Cloud_User", "Reports"}) ||
		!strings.HasPrefix(sf.Rule, "assign[0] (rules.yaml:14): group ") {
		t.Fatalf("manager: %+v", sf)
	}
	mem.direct["p1"] = mem.direct["p1"][1:]
	r, _ = m.Evaluate(rulesPerson("Sales"), mem, fnNow)
	if sf = r.Apps["salesforce"]; sf.User.Profile != "Standard User" || !reflect.DeepEqual(sf.User.PermissionSets, []string{"Sales_Cloud_User"}) {
		t.Fatalf("sales: %+v", sf)
	}
	r, _ = m.Evaluate(rulesPerson("IT"), mem, fnNow)
	sf = r.Apps["salesforce"]
	if sf.User.Profile != "Read Only" || !reflect.DeepEqual(sf.User.Groups, []string{"everyone"}) || sf.User.PermissionSets != nil {
		t.Fatalf("nested: %+v", sf)
	}
	if sf.User.UserName != "a.sf" || !sf.User.Active || !sf.User.Frozen || r.Identity.Active {
		t.Fatalf("overrides: identity %+v, user %+v", r.Identity, sf.User)
	}
	if !reflect.DeepEqual(sf.UpdateOn, []string{"Email"}) || sf.User.Attributes["Email"] != "a@corp.example" {
		t.Fatalf("attributes: %+v %v", sf.User.Attributes, sf.UpdateOn)
	}
	mem.direct["p1"] = nil
	if r, _ = m.Evaluate(rulesPerson("IT"), mem, fnNow); r.Apps["salesforce"].Assigned || !r.InScope {
		t.Fatalf("no rule matches: %+v", r)
	}
}

func TestProtectedOutOfScope(t *testing.T) {
	m := loadRules(t)
	p := rulesPerson("Sales")
	p.DN = "CN=A,OU=Service Accounts,DC=corp,DC=example"
	mem := &memIndex{direct: map[string][]string{"p1": {"gid:cn=tier0,ou=groups,dc=corp,dc=example"}}}
	r, err := m.Evaluate(p, mem, fnNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.InScope || !r.Identity.Protected || len(r.Apps) != 1 || r.Apps["salesforce"].Assigned {
		t.Fatalf("a protected person leaving scope must still be marked protected: %+v", r)
	}
}

func TestNextChange(t *testing.T) {
	m := loadRules(t)
	p := rulesPerson("Sales")
	p.Attributes["extensionattribute2"] = []string{"2026-12-01"} // start date in the future
	p.Attributes["accountexpires"] = []string{"134102016000000000"}
	mem := &memIndex{}
	r, err := m.Evaluate(p, mem, fnNow)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if r.InScope || !r.NextChange.Equal(start) {
		t.Fatalf("before the start date: in scope %v, next change %v, want %v", r.InScope, r.NextChange, start)
	}
	// On the start date the person comes into scope; the account expiry
	// (2025-12-14T16:00Z, already past) sets no timer.
	r, err = m.Evaluate(p, mem, start)
	if err != nil || !r.InScope || r.Identity.Active || !r.NextChange.Equal(start.Add(time.Nanosecond)) {
		t.Fatalf("on the start date: %+v %v", r, err)
	}
	p.Attributes["accountexpires"] = []string{"134500000000000000"} // 2027-03-20T07:06:40Z
	p.Attributes["useraccountcontrol"] = []string{"512"}            // enabled: expiry is what decides now
	r, _ = m.Evaluate(p, mem, start.Add(time.Hour))
	if want := time.Date(2027, 3, 20, 7, 6, 40, 0, time.UTC); !r.Identity.Active || !r.NextChange.Equal(want) {
		t.Fatalf("expiry ahead: active %v, next change %v, want %v", r.Identity.Active, r.NextChange, want)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m := loadRules(t)
	p := rulesPerson("Sales")
	p.Attributes["extensionattribute2"] = []string{"not a date"}
	_, err := m.Evaluate(p, &memIndex{}, fnNow)
	var ee *ExprError
	if !errors.As(err, &ee) || ee.What != "scope.users.when" || ee.Line != 10 ||
		!strings.Contains(err.Error(), `"not a date" does not match the layout "2006-01-02"`) {
		t.Fatalf("bad date: %v", err)
	}
	_, err = m.Evaluate(rulesPerson("Sales"), &memIndex{fail: true}, fnNow)
	if err == nil || !strings.Contains(err.Error(), "index unavailable") {
		t.Fatalf("membership failure: %v", err)
	}
	_, err = m.Evaluate(rulesPerson("Sales"), nil, fnNow)
	if err == nil || !strings.Contains(err.Error(), "without a membership index") {
		t.Fatalf("no memberships: %v", err)
	}
	p = rulesPerson("Sales")
	delete(p.Attributes, "objectguid")
	if _, err = m.Evaluate(p, &memIndex{}, fnNow); err == nil || !strings.Contains(err.Error(), "has no objectguid") {
		t.Fatalf("missing anchor: %v", err)
	}
}

func TestUniqueAllTaken(t *testing.T) {
	mem := &memIndex{taken: map[string]string{"app/out/a": "p2", "app/out/b": "p3"}}
	_, _, err := evalOne(t, `unique(["a", "b", ""])`, fnPerson(), mem)
	if err == nil || !strings.Contains(err.Error(), "unique: all 3 candidates are taken or empty") {
		t.Fatalf("err = %v", err)
	}
	// Memberships without Uniqueness: nothing is taken.
	got, _, err := evalOne(t, `unique(["a", "b"])`, fnPerson(), onlyMemberships{})
	if err != nil || got != "a" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestAppsAndAttributes(t *testing.T) {
	m := loadRules(t)
	if !reflect.DeepEqual(m.Apps(), []string{"salesforce"}) {
		t.Errorf("Apps = %v", m.Apps())
	}
	// givenName, sn, displayName and mail are read by the identity defaults.
	want := []string{"accountexpires", "department", "displayname", "extensionattribute1", "extensionattribute2",
		"givenname", "mail", "objectguid", "samaccountname", "sn", "useraccountcontrol"}
	if !reflect.DeepEqual(m.Attributes(), want) {
		t.Errorf("Attributes = %v, want %v", m.Attributes(), want)
	}
}

// TestConcurrentEvaluate runs one mapping from many goroutines; with -race
// it proves the compiled mapping and the pooled state are not shared.
func TestConcurrentEvaluate(t *testing.T) {
	m := loadRules(t)
	mem := &memIndex{direct: map[string][]string{"p1": {"gid:cn=sales managers,ou=groups,dc=corp,dc=example"}}}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				p := rulesPerson(fmt.Sprint("dept", g))
				p.Attributes["samaccountname"] = []string{fmt.Sprint("u", g, "-", i)}
				r, err := m.Evaluate(p, mem, fnNow)
				if err != nil || r.Identity.UserName != fmt.Sprint("u", g, "-", i) {
					t.Errorf("goroutine %d: %+v %v", g, r.Identity, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// onlyMemberships implements Memberships and not Uniqueness.
type onlyMemberships struct{}

func (onlyMemberships) Groups(string, bool) ([]string, error) { return nil, nil }

func TestAnchorFormatting(t *testing.T) {
	for _, c := range []struct{ anchor, value, want string }{
		{"objectGUID", "0123456789abcdef", "33323130-3534-3736-3839-616263646566"},
		{"mS-DS-ConsistencyGuid", "0123456789abcdef", "33323130-3534-3736-3839-616263646566"},
		{"objectGUID", "2f9c1c2e-1111-2222-3333-444455556666", "2f9c1c2e-1111-2222-3333-444455556666"},
		{"employeeID", "0123456789abcdef", "0123456789abcdef"},
	} {
		src := "identity:\n  anchor: " + c.anchor + "\n  userName: mail\n"
		m, err := Parse("a.yaml", []byte(src), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := Person{ID: "x", Attributes: map[string][]string{strings.ToLower(c.anchor): {c.value}}}
		r, err := m.Evaluate(p, nil, fnNow)
		if err != nil || r.Identity.Anchor != c.want {
			t.Errorf("%s %q: anchor %q, %v; want %q", c.anchor, c.value, r.Identity.Anchor, err, c.want)
		}
	}
}

func TestExplain(t *testing.T) {
	m := loadRules(t)
	mem := &memIndex{
		direct: map[string][]string{"p1": {"gid:cn=sales managers,ou=groups,dc=corp,dc=example"}},
		parent: map[string][]string{"gid:cn=sales managers,ou=groups,dc=corp,dc=example": {"gid:cn=all staff,ou=groups,dc=corp,dc=example"}},
	}
	r, ex, err := m.Explain(rulesPerson("Sales"), mem, fnNow)
	if err != nil || !r.Apps["salesforce"].Assigned {
		t.Fatal(r, err)
	}
	wantScope := []Test{
		{What: `base "ou=staff,dc=corp,dc=example"`, Passed: true},
		{What: `when now() >= parseTime(extensionAttribute2, "date")`, Passed: true},
	}
	if !reflect.DeepEqual(ex.Scope, wantScope) {
		t.Errorf("scope = %+v", ex.Scope)
	}
	rules := ex.Apps["salesforce"]
	if len(rules) != 3 || !rules[0].Decided || !rules[1].Passed || rules[1].Decided || !rules[2].Passed ||
		!strings.HasPrefix(rules[2].What, `assign[2] (rules.yaml:20): nestedGroup "CN=All Staff`) {
		t.Errorf("rules = %+v", rules)
	}
	p := rulesPerson("Sales")
	p.DN = "CN=A,OU=Elsewhere,DC=corp,DC=example"
	_, ex, err = m.Explain(p, &memIndex{fail: true}, fnNow)
	if err == nil || ex.Scope[0].Passed || ex.Apps["salesforce"][0].Err == "" || ex.Apps["salesforce"][1].Decided {
		t.Errorf("out of scope with a failing index: %+v, %v", ex, err)
	}
}
