package ldap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/internal/testenv"
)

// adEnv is the Samba AD DC that scripts/testenv/samba-ad.sh started.
type adEnv struct {
	ldapURL, ldapsURL, base, ca    string
	adminDN, adminPW, svcDN, svcPW string
}

func requireAD(t testing.TB) adEnv {
	v := testenv.Require(t, "Samba AD", "AD_LDAP_URL", "AD_LDAPS_URL", "AD_BASE_DN", "AD_CA_CERT",
		"AD_BIND_DN", "AD_BIND_PW", "AD_SVC_BIND_DN", "AD_SVC_PW")
	return adEnv{v["AD_LDAP_URL"], v["AD_LDAPS_URL"], v["AD_BASE_DN"], v["AD_CA_CERT"],
		v["AD_BIND_DN"], v["AD_BIND_PW"], v["AD_SVC_BIND_DN"], v["AD_SVC_PW"]}
}

// settings reads base as the least-privilege service account over LDAPS.
func (e adEnv) settings(base, extra string) string {
	return e.settingsFull(base, "", 2, extra)
}

// settingsFull adds keys to the groups section and sets the page size.
func (e adEnv) settingsFull(base, groupKeys string, pageSize int, extra string) string {
	return fmt.Sprintf(`urls: [%s]
tls: {caFile: %s}
bind: {dn: %s, password: %s}
people: {base: %s}
groups: {base: %s%s}
pageSize: %d
reconnect: {attempts: 1}
%s`, yamlQuote(e.ldapsURL), yamlQuote(e.ca), yamlQuote(e.svcDN), yamlQuote(e.svcPW), yamlQuote(base), yamlQuote(base), groupKeys, pageSize, extra)
}

func (e adEnv) admin(t testing.TB) *goldap.Conn {
	return adminConn(t, e.ldapsURL, e.ca, e.adminDN, e.adminPW)
}

// adFixture is a fresh OU with people, nested groups with a cycle and a
// custom primary group.
type adFixture struct {
	ou, staff, other string
	conn             *goldap.Conn
}

func newADFixture(t *testing.T, env adEnv) adFixture {
	t.Helper()
	c := env.admin(t)
	f := adFixture{ou: "OU=t" + nonce() + "," + env.base, conn: c}
	f.staff, f.other = "OU=Staff,"+f.ou, "OU=Other,"+f.ou
	t.Cleanup(func() { treeDelete(c, f.ou, true) })
	for _, ou := range []string{f.ou, f.staff, f.other} {
		mustAdd(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}})
	}
	tag := strings.TrimPrefix(strings.Split(f.ou, ",")[0], "OU=")
	for _, u := range []string{"alice", "bob", "carol"} {
		addADUser(t, c, "CN="+u+","+f.staff, u+"-"+tag)
	}
	mustModify(t, c, "CN=alice,"+f.staff, func(m *goldap.ModifyRequest) {
		m.Replace("thumbnailPhoto", []string{string(binaryPhoto)})
		m.Replace("mail", []string{"alice@dirbridge.test"})
	})
	addADGroup(t, c, "CN=inner,"+f.ou, "inner-"+tag, "CN=bob,"+f.staff)
	addADGroup(t, c, "CN=outer,"+f.ou, "outer-"+tag, "CN=inner,"+f.ou, "CN=alice,"+f.staff)
	mustModify(t, c, "CN=outer,"+f.ou, func(m *goldap.ModifyRequest) { m.Replace("managedBy", []string{"CN=alice," + f.staff}) })
	mustModify(t, c, "CN=inner,"+f.ou, func(m *goldap.ModifyRequest) { m.Add("member", []string{"CN=outer," + f.ou}) })
	addADGroup(t, c, "CN=primary,"+f.ou, "primary-"+tag, "CN=carol,"+f.staff)
	rid := groupRID(t, c, "CN=primary,"+f.ou)
	mustModify(t, c, "CN=carol,"+f.staff, func(m *goldap.ModifyRequest) { m.Replace("primaryGroupID", []string{rid}) })
	return f
}

func addADUser(t testing.TB, c *goldap.Conn, dn, sam string) {
	mustAdd(t, c, dn, map[string][]string{"objectClass": {"user"}, "sAMAccountName": {sam}})
}

func addADGroup(t testing.TB, c *goldap.Conn, dn, sam string, members ...string) {
	attrs := map[string][]string{"objectClass": {"group"}, "sAMAccountName": {sam}}
	if len(members) > 0 {
		attrs["member"] = members
	}
	mustAdd(t, c, dn, attrs)
}

// groupRID is the last sub-authority of the group's objectSid.
func groupRID(t testing.TB, c *goldap.Conn, dn string) string {
	t.Helper()
	e := readEntry(t, c, dn, "objectSid")
	sid, err := SIDString(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		t.Fatal(err)
	}
	return sid[strings.LastIndex(sid, "-")+1:]
}

func readEntry(t testing.TB, c *goldap.Conn, dn string, attrs ...string) *goldap.Entry {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0]
}

func guidOf(t testing.TB, c *goldap.Conn, dn string) string {
	t.Helper()
	id, err := GUIDString(readEntry(t, c, dn, "objectGUID").GetRawAttributeValue("objectGUID"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Bulk fixture: bulkMembers users in OU=Bulk and one group holding them
// all. Created once per DC (kept between runs: a fresh DC in CI creates it,
// ~16 s over 4 connections), then reused.
const bulkMembers = 5000

func bulkOU(env adEnv) string { return "OU=Bulk" + strconv.Itoa(bulkMembers) + "," + env.base }

func ensureADBulk(t *testing.T, env adEnv) {
	t.Helper()
	err := once("ad-bulk", func() error {
		c := env.admin(t)
		group := "CN=bulk-group," + bulkOU(env)
		res, err := c.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"member"}, nil))
		if err == nil && len(res.Entries) == 1 && len(res.Entries[0].GetAttributeValues("member")) == bulkMembers {
			return nil
		}
		treeDelete(c, bulkOU(env), true)
		start := time.Now()
		if err := createBulk(t, env, c, group); err != nil {
			return err
		}
		t.Logf("created %d users and their group in %s", bulkMembers, time.Since(start).Round(time.Millisecond))
		return nil
	})
	if err != nil {
		t.Fatalf("bulk fixture: %v", err)
	}
}

func createBulk(t *testing.T, env adEnv, c *goldap.Conn, group string) error {
	if err := c.Add(ouRequest(bulkOU(env))); err != nil {
		return err
	}
	const workers = 4 // what Samba's single process digests best (README: ~16 s for 5k)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wc := env.admin(t) // here, not in the goroutine: t.Fatal must run on the test goroutine
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < bulkMembers && errs[w] == nil; i += workers {
				req := goldap.NewAddRequest(bulkUserDN(env, i), nil)
				req.Attribute("objectClass", []string{"user"})
				req.Attribute("sAMAccountName", []string{fmt.Sprintf("bulk%05d", i)})
				errs[w] = wc.Add(req)
			}
		}(w)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return addMembersInChunks(c, group, env)
}

func ouRequest(dn string) *goldap.AddRequest {
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	return req
}

func bulkUserDN(env adEnv, i int) string {
	return fmt.Sprintf("CN=bulk%05d,%s", i, bulkOU(env))
}

func addMembersInChunks(c *goldap.Conn, group string, env adEnv) error {
	req := goldap.NewAddRequest(group, nil)
	req.Attribute("objectClass", []string{"group"})
	req.Attribute("sAMAccountName", []string{"bulk-group"})
	if err := c.Add(req); err != nil {
		return err
	}
	const chunk = 1000
	for lo := 0; lo < bulkMembers; lo += chunk {
		var dns []string
		for i := lo; i < min(lo+chunk, bulkMembers); i++ {
			dns = append(dns, bulkUserDN(env, i))
		}
		m := goldap.NewModifyRequest(group, nil)
		m.Add("member", dns)
		if err := c.Modify(m); err != nil {
			return err
		}
	}
	return nil
}
