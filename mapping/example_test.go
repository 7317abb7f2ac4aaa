package mapping_test

import (
	"fmt"
	"time"

	"github.com/dirbridge/dirbridge/mapping"
)

// groups is the agent's membership index for the example: person -> group ids.
type groups map[string][]string

func (g groups) Groups(personID string, nested bool) ([]string, error) { return g[personID], nil }

func ExampleParse() {
	src := []byte(`
identity:
  userName: lower(sAMAccountName) + "@corp.example"
  frozen: extensionAttribute1 == "leave-of-absence"
apps:
  slack:
    assign:
      - group: "CN=Slack Users,OU=Groups,DC=corp,DC=example"
    attributes:
      name.givenName: normalize(givenName)
`)
	// Offline, AnyGroup accepts every well-formed DN and uses the normalized
	// DN as the group id; the agent passes a resolver bound to the directory.
	m, err := mapping.Parse("slack.yaml", src, mapping.AnyGroup{})
	if err != nil {
		fmt.Println(err) // every problem, one "file:line:col: message" per line
		return
	}
	p := mapping.Person{ID: "p1", DN: "CN=Zoë,OU=Staff,DC=corp,DC=example", Attributes: map[string][]string{
		"objectguid": {"guid-1"}, "samaccountname": {"ZAngstrom"}, "givenname": {"Zoë"},
	}}
	index := groups{"p1": {"cn=slack users,ou=groups,dc=corp,dc=example"}}
	r, err := m.Evaluate(p, index, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	slack := r.Apps["slack"]
	fmt.Println(r.Identity.UserName, r.Identity.Active, r.Identity.Frozen)
	fmt.Println(slack.Assigned, slack.Rule)
	fmt.Println(slack.User.Attributes["name.givenName"])
	fmt.Println(m.Attributes())
	// Output:
	// zangstrom@corp.example true false
	// true assign[0] (slack.yaml:8): group "CN=Slack Users,OU=Groups,DC=corp,DC=example"
	// Zoe
	// [accountexpires displayname extensionattribute1 givenname mail objectguid samaccountname sn useraccountcontrol]
}

func ExampleCheck() {
	err := mapping.Check([]string{"testdata/errors/syntax.yaml"}, mapping.AnyGroup{})
	fmt.Println(err)
	// Output:
	// testdata/errors/syntax.yaml:3:10: YAML syntax: could not find end character of double-quoted text
}
