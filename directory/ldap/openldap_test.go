package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/internal/testenv"

	goldap "github.com/go-ldap/ldap/v3"
)

// olEnv is the slapd that scripts/testenv/openldap.sh started.
type olEnv struct {
	url, ldapsURL, bindDN, bindPW, base, ca string
}

func requireOpenLDAP(t testing.TB) olEnv {
	v := testenv.Require(t, "OpenLDAP", "OL_LDAP_URL", "OL_LDAPS_URL", "OL_BIND_DN", "OL_BIND_PW", "OL_BASE_DN", "OL_CA_CERT")
	return olEnv{v["OL_LDAP_URL"], v["OL_LDAPS_URL"], v["OL_BIND_DN"], v["OL_BIND_PW"], v["OL_BASE_DN"], v["OL_CA_CERT"]}
}

// settings for a read of one test subtree.
func (e olEnv) settings(base string, extra string) string {
	return fmt.Sprintf(`urls: [%s]
tls: {mode: starttls, caFile: %s}
bind: {dn: %s, password: %s}
flavor: auto
baseDN: %s
people: {base: %s}
groups: {base: %s}
pageSize: 2
%s`, yamlQuote(e.url), yamlQuote(e.ca), yamlQuote(e.bindDN), yamlQuote(e.bindPW), yamlQuote(e.base), yamlQuote(base), yamlQuote(base), extra)
}

// olFixture is a fresh subtree with people, nested groups with a cycle, a
// dangling member and awkward values.
type olFixture struct {
	root, people, other, groups string
	conn                        *goldap.Conn
}

// weirdCN holds every character that must be escaped in a filter.
const weirdCN = `we*rd (x) \ y`

var binaryPhoto = []byte{0xff, 0xd8, 0x00, 0x80, 0xfe, 'a', 0x00}

func newOLFixture(t *testing.T, env olEnv) olFixture {
	t.Helper()
	c := adminConn(t, env.ldapsURL, env.ca, env.bindDN, env.bindPW)
	f := olFixture{root: "ou=t" + nonce() + "," + env.base, conn: c}
	f.people, f.other, f.groups = "ou=people,"+f.root, "ou=other,"+f.root, "ou=groups,"+f.root
	t.Cleanup(func() { treeDelete(c, f.root, false) })
	for _, ou := range []string{f.root, f.people, f.other, f.groups} {
		mustAdd(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {strings.TrimPrefix(strings.Split(ou, ",")[0], "ou=")}})
	}
	person := func(uid, cn string, extra map[string][]string) {
		attrs := map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {cn}, "sn": {"Test"}}
		for k, v := range extra {
			attrs[k] = v
		}
		mustAdd(t, c, "uid="+uid+","+f.people, attrs)
	}
	person("alice", "Alice", map[string][]string{"mail": {"alice@example.test"}, "givenName": {"Alice"}})
	person("bob", "Bob", map[string][]string{"mail": {"bob@example.test"}})
	person("carol", "Carol", nil) // no mail, no givenName
	person("weird", weirdCN, map[string][]string{"jpegPhoto": {string(binaryPhoto)}})
	group := func(cn string, members ...string) {
		mustAdd(t, c, "cn="+cn+","+f.groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {cn}, "member": members})
	}
	// outer -> inner -> outer is a cycle; the store's BFS must cope, the
	// source only reports the direct edges.
	group("inner", "uid=bob,"+f.people)
	group("outer", "cn=inner,"+f.groups, "uid=alice,"+f.people)
	mustModify(t, c, "cn=inner,"+f.groups, func(m *goldap.ModifyRequest) { m.Add("member", []string{"cn=outer," + f.groups}) })
	group("dangling", "uid=alice,"+f.people, "uid=ghost,"+f.people)
	return f
}

func TestOpenLDAPFullRead(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""), "uid", "cn", "mail", "givenName", "jpegPhoto")
	r := fullRead(t, src)

	if len(r.byDN) != 4+3 {
		t.Fatalf("read %d entries, want 4 people and 3 groups: %v", len(r.byDN), keys(r.byDN))
	}
	if r.pages < 4 {
		t.Errorf("read came in %d pages with pageSize 2, want several (paging not used?)", r.pages)
	}
	alice := r.get(t, "uid=alice,"+f.people)
	if alice.Kind != "person" || alice.Attr("mail") != "alice@example.test" || alice.Attr("givenname") != "Alice" {
		t.Errorf("alice = %+v", alice)
	}
	assertUUID(t, alice.ID)
	carol := r.get(t, "uid=carol,"+f.people)
	if _, ok := carol.Attributes["mail"]; ok {
		t.Errorf("carol has no mail but the entry says %q", carol.Attributes["mail"])
	}
	weird := r.get(t, "uid=weird,"+f.people)
	if weird.Attr("cn") != weirdCN || weird.Attr("jpegphoto") != string(binaryPhoto) {
		t.Errorf("weird values changed: cn %q photo %x", weird.Attr("cn"), weird.Attr("jpegphoto"))
	}
	assertMembers(t, r, "cn=outer,"+f.groups, "cn=inner,"+f.groups, "uid=alice,"+f.people)
	assertMembers(t, r, "cn=inner,"+f.groups, "uid=bob,"+f.people, "cn=outer,"+f.groups)
	assertMembers(t, r, "cn=dangling,"+f.groups, "uid=alice,"+f.people) // ghost skipped
	if len(r.cursor) == 0 || !strings.Contains(string(r.cursor), "contextCSN") {
		t.Errorf("cursor %s lacks the contextCSN watermark", r.cursor)
	}
}

func TestOpenLDAPRenameAndMoveKeepID(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""), "uid")
	before := fullRead(t, src)
	bob := before.get(t, "uid=bob,"+f.people)
	carol := before.get(t, "uid=carol,"+f.people)

	if err := f.conn.ModifyDN(goldap.NewModifyDNRequest("uid=bob,"+f.people, "uid=robert", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.ModifyDN(goldap.NewModifyDNRequest("uid=carol,"+f.people, "uid=carol", true, f.other)); err != nil {
		t.Fatal(err)
	}
	after := fullRead(t, src)
	if e := after.byID[bob.ID]; !strings.EqualFold(e.DN, "uid=robert,"+f.people) || e.Attr("uid") != "robert" {
		t.Errorf("renamed bob: id %s now %+v", bob.ID, e)
	}
	if e := after.byID[carol.ID]; !strings.EqualFold(e.DN, "uid=carol,"+f.other) {
		t.Errorf("moved carol: id %s now at %q", carol.ID, e.DN)
	}
	// slapd has no referential integrity here: inner still names uid=bob,
	// which no longer exists, so the edge is dropped, never guessed.
	assertMembers(t, after, "cn=inner,"+f.groups, "cn=outer,"+f.groups)
}

func assertMembers(t *testing.T, r readResult, groupDN string, want ...string) {
	t.Helper()
	g := r.get(t, groupDN)
	if g.Kind != "group" {
		t.Fatalf("%s kind %s", groupDN, g.Kind)
	}
	got := r.memberDNs(t, g)
	for i := range want {
		want[i] = strings.ToLower(want[i])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("members of %s = %q, want %q", groupDN, got, want)
	}
	if _, ok := g.Attributes["member"]; ok {
		t.Errorf("%s: member DNs leaked into Attributes", groupDN)
	}
}

func assertUUID(t *testing.T, id string) {
	t.Helper()
	if len(id) != 36 || strings.ToLower(id) != id || strings.Count(id, "-") != 4 {
		t.Errorf("id %q is not a canonical lower-case UUID", id)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestOpenLDAPLookupEscapesFilterValues(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""), "uid", "cn")
	ctx := context.Background()
	e, err := src.Lookup(ctx, "cn", weirdCN)
	if err != nil || e.Attr("uid") != "weird" {
		t.Fatalf("lookup cn=%q: %+v, %v", weirdCN, e, err)
	}
	for _, v := range []string{"*", "a*", ")(uid=*", `\`, "we*rd*"} {
		if e, err := src.Lookup(ctx, "cn", v); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("lookup cn=%q matched %+v, %v: the value widened the filter", v, e, err)
		}
	}
	if _, err := src.Lookup(ctx, "cn)(uid=*", "x"); err == nil || !strings.Contains(err.Error(), "not an attribute name") {
		t.Errorf("attribute name injection: %v", err)
	}
}

func TestOpenLDAPLDAPSAndWrongCA(t *testing.T) {
	env := requireOpenLDAP(t)
	ldaps := strings.Replace(env.settings(env.base, ""), "urls: ["+yamlQuote(env.url)+"]", "urls: ["+yamlQuote(env.ldapsURL)+"]", 1)
	ldaps = strings.Replace(ldaps, "mode: starttls", "mode: ldaps", 1)
	if f := runCheck(t, ldaps)["bind"]; f.Severity != directory.SeverityOK || !strings.Contains(f.Message, env.ldapsURL) {
		t.Errorf("ldaps bind: %+v", f)
	}
	other := writeThrowawayCA(t)
	for _, s := range []string{ldaps, env.settings(env.base, "")} {
		s = strings.Replace(s, yamlQuote(env.ca), yamlQuote(other), 1) + "reconnect: {attempts: 1}\n"
		if err := openErr(t, s); !errors.Is(err, ErrTLSVerify) || !strings.Contains(err.Error(), other) {
			t.Errorf("foreign CA: %v", err)
		}
	}
}
