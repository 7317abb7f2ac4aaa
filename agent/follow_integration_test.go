package agent

import (
	"context"
	"path/filepath"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

// TestAgentFollowsOpenLDAP runs the whole agent against the real slapd:
// a full read, then syncrepl changes (a new member, a disable, a delete)
// become completed requests in the mock app within the test's deadline.
func TestAgentFollowsOpenLDAP(t *testing.T) {
	d := openLDAPDir(t)
	followDirectory(t, d, "", "description", "disabled", true)
}

// TestAgentFollowsActiveDirectory does the same against the Samba AD DC with
// the least-privilege service account, which cannot use DirSync nor see
// tombstones: the agent polls uSNChanged (woken by change notification).
func TestAgentFollowsActiveDirectory(t *testing.T) {
	d := adDir(t)
	followDirectory(t, d, "changes: {method: auto, interval: 1s, notify: true}\n", "userAccountControl", "546", false)
}

// followDirectory: a full read, then a new member, a disable and (where the
// bind can see deletes) a delete become completed requests.
func followDirectory(t *testing.T, d realDir, changes, disableAttr, disableValue string, deletes bool) {
	c := dial(t, d.url, d.ca, d.adminDN, d.adminPW)
	tag := randomTag()
	ou := "ou=dbfollow" + tag + "," + d.base
	add(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"dbfollow" + tag}})
	t.Cleanup(func() { treeDelete(c, ou) })
	person := func(n string) string { return "cn=" + n + tag + "," + ou }
	group := "cn=g" + tag + "," + ou
	addReq(t, c, d.person(c, person("ann"), "ann"+tag))
	addReq(t, c, d.group(group, "g"+tag, person("ann")))

	cfg := realWorkspace(t, d, ou, group, changes)
	a, err := New(Options{Config: cfg, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: filepath.Dir(cfg.File), a: a}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan error, 1)
	go func() { w.done <- a.Run(ctx) }()
	t.Cleanup(w.stop)

	w.waitFor("ann's Create from the full read", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateCompleted] == 1 })
	// A new person joins the group: syncrepl delivers both changes.
	addReq(t, c, d.person(c, person("bob"), "bob"+tag))
	modify(t, c, group, func(m *goldap.ModifyRequest) { m.Add("member", []string{person("bob")}) })
	w.waitFor("bob's Create from syncrepl", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateCompleted] == 2 })
	bob := personID(t, a, "bob"+tag)
	modify(t, c, person("bob"), func(m *goldap.ModifyRequest) { m.Replace(disableAttr, []string{disableValue}) })
	w.waitFor("bob's Deactivate", func(tx *outbox.Tx) bool { return completed(tx, "wiki", bob, connectors.OpDeactivate) })
	if !deletes {
		return
	}
	ann := personID(t, a, "ann"+tag)
	if err := c.Del(goldap.NewDelRequest(person("ann"), nil)); err != nil {
		t.Fatal(err)
	}
	w.waitFor("ann's Deactivate after her delete", func(tx *outbox.Tx) bool { return completed(tx, "wiki", ann, connectors.OpDeactivate) })
}

func add(t *testing.T, c *goldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	r := goldap.NewAddRequest(dn, nil)
	for k, vals := range attrs {
		r.Attribute(k, vals)
	}
	addReq(t, c, r)
}

func addReq(t *testing.T, c *goldap.Conn, r *goldap.AddRequest) {
	t.Helper()
	if err := c.Add(r); err != nil {
		t.Fatalf("add %s: %v", r.DN, err)
	}
}

func modify(t *testing.T, c *goldap.Conn, dn string, fn func(*goldap.ModifyRequest)) {
	t.Helper()
	m := goldap.NewModifyRequest(dn, nil)
	fn(m)
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// treeDelete removes a test OU and everything under it.
func treeDelete(c *goldap.Conn, base string) {
	res, err := c.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		return
	}
	for i := len(res.Entries) - 1; i >= 0; i-- { // children before parents
		_ = c.Del(goldap.NewDelRequest(res.Entries[i].DN, nil))
	}
}
