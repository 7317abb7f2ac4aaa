// Package demo writes a self-contained dirbridge workspace: an AD-style LDIF
// directory of 50 people in a few groups, a mapping with two apps, and an
// agent config whose apps are mock targets. `dirbridge demo` runs the agent
// on it; tests use it as a realistic fixture.
package demo

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-ldap/ldap/v3"
	goldif "github.com/go-ldap/ldif"
)

// Base is the demo domain's naming context.
const Base = "DC=corp,DC=example"

// Files in a demo workspace.
const (
	ConfigFile  = "agent.yaml"
	MappingFile = "mapping.yaml"
	LDIFFile    = "people.ldif"
	TokenFile   = "status.token"
)

var (
	given  = []string{"Alice", "Bob", "Chloé", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas"}
	family = []string{"Martin", "Nguyen", "Okafor", "Petrov", "Quinn"}
	depts  = []string{"Sales", "Engineering", "Support", "Finance", "Sales"}
)

// Person is one demo person (exported for tests).
type Person struct {
	Login, Given, Family, Department string
	Disabled                         bool
}

// People returns the demo's 50 people, deterministically.
func People() []Person { return PeopleOf(50) }

// PeopleOf returns n demo people, deterministically (larger directories for
// tests); the last one starts disabled.
func PeopleOf(n int) []Person {
	var out []Person
	for i := 0; i < n; i++ {
		g, f := given[i%len(given)], family[(i/len(given))%len(family)]
		if n := i / (len(given) * len(family)); n > 0 {
			f = fmt.Sprintf("%s %d", f, n) // larger directories: every name stays unique
		}
		out = append(out, Person{
			Login:      strings.ToLower(asciiFold(g[:1]) + asciiFold(f) + fmt.Sprint(i)),
			Given:      g,
			Family:     f,
			Department: depts[i%len(depts)],
			Disabled:   i == n-1, // one person starts disabled: never gets an account
		})
	}
	return out
}

func asciiFold(s string) string { return strings.NewReplacer("é", "e", "É", "E").Replace(s) }

// guid derives a stable objectGUID (16 raw bytes) from a name.
func guid(name string) string {
	h := sha256.Sum256([]byte("dirbridge-demo:" + name))
	return string(h[:16])
}

func personDN(p Person) string { return fmt.Sprintf("CN=%s %s,OU=Staff,%s", p.Given, p.Family, Base) }

func groupDN(name string) string { return fmt.Sprintf("CN=%s,OU=Groups,%s", name, Base) }

// Directory returns the demo directory as LDAP entries.
func Directory() []*ldap.Entry { return DirectoryOf(PeopleOf(50)) }

// DirectoryOf returns the demo directory with these people.
func DirectoryOf(people []Person) []*ldap.Entry {
	var entries []*ldap.Entry
	members := map[string][]string{}
	for i, p := range people {
		uac := "512"
		if p.Disabled {
			uac = "514"
		}
		entries = append(entries, ldap.NewEntry(personDN(p), map[string][]string{
			"objectClass":        {"top", "person", "organizationalPerson", "user"},
			"objectGUID":         {guid(p.Login)},
			"sAMAccountName":     {p.Login},
			"userPrincipalName":  {p.Login + "@corp.example"},
			"givenName":          {p.Given},
			"sn":                 {p.Family},
			"displayName":        {p.Given + " " + p.Family},
			"mail":               {p.Login + "@corp.example"},
			"department":         {p.Department},
			"title":              {p.Department + " specialist"},
			"userAccountControl": {uac},
			"accountExpires":     {"0"},
		}))
		members["All Staff"] = append(members["All Staff"], personDN(p))
		if i%3 != 2 {
			members["Slack Users"] = append(members["Slack Users"], personDN(p))
		}
		if p.Department == "Sales" {
			members["Sales"] = append(members["Sales"], personDN(p))
		}
	}
	for _, name := range []string{"All Staff", "Slack Users", "Sales"} {
		entries = append(entries, ldap.NewEntry(groupDN(name), map[string][]string{
			"objectClass": {"top", "group"},
			"objectGUID":  {guid("group:" + name)},
			"cn":          {name},
			"member":      members[name],
		}))
	}
	return entries
}

// Write creates the workspace in dir: LDIF, mapping, config and a status
// token. listen is the status endpoint address.
func Write(dir, listen string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, LDIFFile))
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "# dirbridge demo directory (AD style). Edit me while the demo runs:\n"+
		"# set userAccountControl to 514 to disable someone, or remove a member line from a group.\n\n"); err != nil {
		f.Close()
		return err
	}
	if err := goldif.Dump(f, 0, Directory()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	files := map[string]string{
		MappingFile: mappingYAML,
		ConfigFile:  strings.ReplaceAll(configYAML, "LISTEN", listen),
		TokenFile:   fmt.Sprintf("%x\n", sha256.Sum256([]byte(dir+listen))),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

const configYAML = `# dirbridge demo agent config: an LDIF directory and two mock apps.
state:
  path: state.db
directory:
  type: ldif
  settings:
    path: people.ldif
    pollInterval: 1s
mapping:
  files: [mapping.yaml]
apps:
  slack:
    connector: mock
    workers: 4
  salesforce:
    connector: mock
    workers: 2
status:
  listen: LISTEN
  tokenFile: status.token
log:
  level: info
  format: console
`

const mappingYAML = `# dirbridge demo mapping: who gets which app, and with which attributes.
scope:
  users:
    base: "OU=Staff,DC=corp,DC=example"
identity:
  anchor: objectGUID
  userName: lower(sAMAccountName) + "@corp.example"
  givenName: givenName
  familyName: sn
  email: lower(mail)
  active: not adDisabled(userAccountControl) and not accountExpired(accountExpires)
  frozen: extensionAttribute1 == "leave-of-absence"
apps:
  slack:
    assign:
      - group: "CN=Slack Users,OU=Groups,DC=corp,DC=example"
    attributes:
      userName: identity.userName
      name.givenName: identity.givenName
      name.familyName: identity.familyName
      emails[type eq "work"].value: identity.email
      title: title
  salesforce:
    assign:
      - group: "CN=Sales,OU=Groups,DC=corp,DC=example"
        profile: Standard User
        permissionSets: [Sales_Cloud_User]
    attributes:
      Username: identity.userName
      FederationIdentifier: identity.userName
      Email: identity.email
      FirstName: identity.givenName
      LastName: identity.familyName
      Department: department
`
