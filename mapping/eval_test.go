package mapping

import (
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
