package agent

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	_ "github.com/dirbridge/dirbridge/directory/ldap"
	"github.com/dirbridge/dirbridge/internal/testenv"
)

// These tests run the agent against the real servers scripts/testenv
// starts: a full read, the mapping resolving a real group, the planner, and
// `preview` reading a person live.

type realDir struct {
	name     string
	url      string // admin connection (LDAPS)
	ca       string
	adminDN  string
	adminPW  string
	settings string // the agent's directory.settings
	base     string // where the test's OU goes
	person   func(c *goldap.Conn, dn, login string) *goldap.AddRequest
	group    func(dn, name string, members ...string) *goldap.AddRequest
	login    string // login attribute
	anchor   string
	active   string
}

func randomTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func dial(t *testing.T, url, ca, dn, pw string) *goldap.Conn {
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := goldap.DialURL(url, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(dn, pw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func openLDAPDir(t *testing.T) realDir {
	v := testenv.Require(t, "OpenLDAP", "OL_LDAPS_URL", "OL_BIND_DN", "OL_BIND_PW", "OL_BASE_DN", "OL_CA_CERT")
	return realDir{name: "openldap", url: v["OL_LDAPS_URL"], ca: v["OL_CA_CERT"], adminDN: v["OL_BIND_DN"], adminPW: v["OL_BIND_PW"],
		base: v["OL_BASE_DN"], login: "uid", anchor: "entryUUID", active: `description != "disabled"`,
		settings: fmt.Sprintf("urls: [%q]\ntls: {mode: ldaps, caFile: %q}\nbind: {dn: %q, password: %q}\nflavor: openldap\nbaseDN: %q\n",
			v["OL_LDAPS_URL"], v["OL_CA_CERT"], v["OL_BIND_DN"], v["OL_BIND_PW"], v["OL_BASE_DN"]),
		person: func(_ *goldap.Conn, dn, login string) *goldap.AddRequest {
			r := goldap.NewAddRequest(dn, nil)
			r.Attribute("objectClass", []string{"inetOrgPerson"})
			r.Attribute("uid", []string{login})
			r.Attribute("cn", []string{login})
			r.Attribute("sn", []string{"Tester"})
			r.Attribute("mail", []string{login + "@example.test"})
			return r
		},
		group: func(dn, name string, members ...string) *goldap.AddRequest {
			r := goldap.NewAddRequest(dn, nil)
			r.Attribute("objectClass", []string{"groupOfNames"})
			r.Attribute("cn", []string{name})
			r.Attribute("member", members)
			return r
		},
	}
}

func adDir(t *testing.T) realDir {
	v := testenv.Require(t, "Samba AD", "AD_LDAPS_URL", "AD_BASE_DN", "AD_CA_CERT", "AD_BIND_DN", "AD_BIND_PW", "AD_SVC_BIND_DN", "AD_SVC_PW")
	return realDir{name: "ad", url: v["AD_LDAPS_URL"], ca: v["AD_CA_CERT"], adminDN: v["AD_BIND_DN"], adminPW: v["AD_BIND_PW"],
		base: v["AD_BASE_DN"], login: "sAMAccountName", anchor: "objectGUID", active: "not adDisabled(userAccountControl)",
		// The agent binds as the least-privilege service account, never as an administrator.
		settings: fmt.Sprintf("urls: [%q]\ntls: {mode: ldaps, caFile: %q}\nbind: {dn: %q, password: %q}\nflavor: ad\nbaseDN: %q\n",
			v["AD_LDAPS_URL"], v["AD_CA_CERT"], v["AD_SVC_BIND_DN"], v["AD_SVC_PW"], v["AD_BASE_DN"]),
		person: func(_ *goldap.Conn, dn, login string) *goldap.AddRequest {
			r := goldap.NewAddRequest(dn, nil)
			r.Attribute("objectClass", []string{"user"})
			r.Attribute("sAMAccountName", []string{login})
			r.Attribute("mail", []string{login + "@example.test"})
			r.Attribute("userAccountControl", []string{"544"}) // enabled, no password required (test data)
			return r
		},
		group: func(dn, name string, members ...string) *goldap.AddRequest {
			r := goldap.NewAddRequest(dn, nil)
			r.Attribute("objectClass", []string{"group"})
			r.Attribute("sAMAccountName", []string{name})
			r.Attribute("member", members)
			return r
		},
	}
}

func TestPreviewAgainstRealDirectories(t *testing.T) {
	for _, mk := range []func(*testing.T) realDir{openLDAPDir, adDir} {
		d := mk(t)
		t.Run(d.name, func(t *testing.T) { previewRealDirectory(t, d) })
	}
}

func previewRealDirectory(t *testing.T, d realDir) {
	c := dial(t, d.url, d.ca, d.adminDN, d.adminPW)
	tag := randomTag()
	ou := "ou=dbprev" + tag + "," + d.base
	add(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"dbprev" + tag}})
	t.Cleanup(func() { treeDelete(c, ou) })
	person, group := "cn=p"+tag+","+ou, "cn=g"+tag+","+ou
	login := "p" + tag
	addReq(t, c, d.person(c, person, login))
	addReq(t, c, d.group(group, "g"+tag, person))
	cfg := realWorkspace(t, d, ou, group, "")
	a, err := New(Options{Config: cfg, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), NoConnectors: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.FullRead(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	p, err := a.Preview(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != "live directory" || !p.InScope || !p.Apps["wiki"].Assigned || len(p.Apps["wiki"].Requests) != 0 {
		t.Fatalf("preview after the full read: %+v", p)
	}
	// A change only the live directory knows about shows as the Update it would cause.
	modify(t, c, person, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"renamed-" + login + "@example.test"}) })
	p, err = a.Preview(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	reqs := p.Apps["wiki"].Requests
	if len(reqs) != 1 || reqs[0].Op != connectors.OpUpdate || !strings.Contains(reqs[0].Reason, "email") {
		t.Fatalf("preview after a live change: %+v", reqs)
	}
}

// realWorkspace writes an agent config for d (people and groups under ou,
// a mock app "wiki" assigned by group) and loads it.
func realWorkspace(t *testing.T, d realDir, ou, group, extraSettings string) *config.Config {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mapping.yaml"), fmt.Sprintf(`scope:
  users: {base: %q}
identity:
  anchor: %s
  userName: lower(%s) + "@example.test"
  active: %s
apps:
  wiki:
    assign:
      - group: %q
    attributes:
      userName: identity.userName
      email: mail
`, ou, d.anchor, d.login, d.active, group))
	settings := d.settings + fmt.Sprintf("people: {base: %q}\ngroups: {base: %q}\n", ou, ou) + extraSettings
	writeFile(t, filepath.Join(dir, "agent.yaml"), "state: {path: state.db}\ndirectory:\n  type: ldap\n  settings:\n"+
		indent(settings, "    ")+"mapping: {files: [mapping.yaml]}\napps:\n  wiki: {connector: mock}\nstatus: {listen: '127.0.0.1:0'}\n")
	cfg, err := config.Load(filepath.Join(dir, "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

func writeFile(t *testing.T, path, text string) {
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
