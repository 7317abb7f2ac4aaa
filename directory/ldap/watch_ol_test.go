package ldap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

var olWatchAttrs = []string{"uid", "cn", "mail", "description", "shadowExpire", "pwdAccountLockedTime"}

// TestOpenLDAPIncremental follows a private slapd with the ppolicy overlay
// (3 bad passwords lock an account) through the acceptance steps with
// syncrepl and with entryCSN and modifyTimestamp polling, restarting the
// source between every two steps. OpenLDAP has no account flag: an admin
// disables an account with pwdAccountLockedTime 000001010000Z (ppolicy:
// locked until an admin unlocks), lockout sets pwdAccountLockedTime to
// the time; account expiry is shadowExpire. Polling cannot see deletes
// nor moves out of the base: those steps assert that nothing arrives (full
// reconciliation covers them, as Check says).
func TestOpenLDAPIncremental(t *testing.T) {
	env := startPrivateSlapd(t, "incremental", 3894, 0, "OL_PPOLICY=3").env
	for _, tc := range []struct{ name, changes, method string }{
		{"syncrepl", "changes: {method: auto}", MethodSyncrepl},
		{"poll", "changes: {method: poll, interval: 200ms}", MethodPoll},
		// 1-second granularity: each step waits for its second to pass the cut-off.
		{"poll modifyTimestamp", "changes: {method: poll, pollAttribute: modifyTimestamp, interval: 200ms, clockLag: 500ms}", MethodPoll},
	} {
		t.Run(tc.name, func(t *testing.T) { runOLScenario(t, env, tc.changes, tc.method) })
	}
}

func runOLScenario(t *testing.T, env olEnv, changesYAML, wantMethod string) {
	f := newOLFixture(t, env)
	c := f.conn
	sub := "ou=sub," + f.people
	mustAdd(t, c, sub, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"sub"}})
	mustAdd(t, c, "uid=marker,"+f.people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"marker"}, "cn": {"M"}, "sn": {"T"}})
	mustAdd(t, c, "cn=marker-g,"+f.groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"marker-g"}, "member": {"uid=marker," + f.people}})
	settings := env.settings(f.root, changesYAML)
	r := fullRead(t, newSource(t, settings, olWatchAttrs...))
	var cur Cursor
	if err := json.Unmarshal(r.cursor, &cur); err != nil || cur.Method != wantMethod {
		t.Fatalf("full read cursor %s: method %q, want %q (%v)", r.cursor, cur.Method, wantMethod, err)
	}
	id := func(dn string) string { return r.get(t, dn).ID }
	alice, bob, carol := id("uid=alice,"+f.people), id("uid=bob,"+f.people), id("uid=carol,"+f.people)
	inner, outer := id("cn=inner,"+f.groups), id("cn=outer,"+f.groups)
	rs := &resumer{t: t, settings: settings, attrs: olWatchAttrs, cursor: r.cursor, markerAttr: "description",
		markP: id("uid=marker," + f.people), markG: id("cn=marker-g," + f.groups), perStepTimeout: 20 * time.Second}
	rs.mark = func(token string) {
		for _, dn := range []string{"uid=marker," + f.people, "cn=marker-g," + f.groups} {
			mustModify(t, c, dn, func(m *goldap.ModifyRequest) { m.Replace("description", []string{token}) })
		}
	}
	polling := wantMethod == MethodPoll
	if !polling {
		rs.settlePages = 2 // one refreshDone per search (people, groups)
	}
	modify := func(dn string, fn func(*goldap.ModifyRequest)) func() { return func() { mustModify(t, c, dn, fn) } }
	move := func(dn, rdn, parent string) func() {
		return func() {
			if err := c.ModifyDN(goldap.NewModifyDNRequest(dn, rdn, true, parent)); err != nil {
				t.Fatal(err)
			}
		}
	}

	if strings.Contains(changesYAML, "modifyTimestamp") {
		// The full read's watermark lags by clockLag plus a second (a
		// timestamp watermark must not cut into a second still open), so
		// the fixture written just before the read comes once more.
		if got := rs.collect("replay of the fixture"); len(got.deleted) != 0 || len(got.entries) == 0 {
			t.Fatalf("first watch after the read: %+v", got)
		}
	}
	var dave string
	got := rs.stepWant("create", func() {
		mustAdd(t, c, "uid=dave,"+f.people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"dave"}, "cn": {"Dave"}, "sn": {"T"},
			"userPassword": {davePassword}})
		dave = olUUID(t, c, "uid=dave,"+f.people)
	}, func() []string { return []string{dave} })
	attrIs(t, got.last(t, dave), "uid", "dave")
	got = rs.step("attribute change", modify("uid=alice,"+f.people, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"alice@new.test"}) }), alice)
	attrIs(t, got.last(t, alice), "mail", "alice@new.test")
	got = rs.step("rename uid", move("uid=bob,"+f.people, "uid=robert", ""), bob)
	if e := got.last(t, bob); e.DN != "uid=robert,"+f.people || e.Attr("uid") != "robert" {
		t.Errorf("renamed bob: %+v", e)
	}
	got = rs.step("rename cn", modify("uid=robert,"+f.people, func(m *goldap.ModifyRequest) { m.Replace("cn", []string{"Robert"}) }), bob)
	attrIs(t, got.last(t, bob), "cn", "Robert")
	got = rs.step("move within scope", move("uid=carol,"+f.people, "uid=carol", sub), carol)
	if e := got.last(t, carol); e.DN != "uid=carol,"+sub {
		t.Errorf("moved carol: %+v", e)
	}
	t.Cleanup(func() { c.Del(goldap.NewDelRequest("uid=carol,"+env.peopleOutside(), nil)) })
	if polling {
		rs.step("move out of scope (not visible to polling)", move("uid=carol,"+sub, "uid=carol", env.peopleOutside()))
	} else if got = rs.step("move out of scope", move("uid=carol,"+sub, "uid=carol", env.peopleOutside()), carol); !slices.Contains(got.deleted, carol) {
		t.Errorf("carol left the base but was not reported deleted: %+v", got)
	}
	got = rs.step("disable", modify("uid=alice,"+f.people, func(m *goldap.ModifyRequest) {
		m.Replace("pwdAccountLockedTime", []string{"000001010000Z"})
	}), alice)
	attrIs(t, got.last(t, alice), "pwdAccountLockedTime", "000001010000Z")
	got = rs.step("enable", modify("uid=alice,"+f.people, func(m *goldap.ModifyRequest) { m.Delete("pwdAccountLockedTime", nil) }), alice)
	if _, has := got.last(t, alice).Attributes["pwdaccountlockedtime"]; has {
		t.Errorf("enabled alice still has pwdAccountLockedTime: %+v", got.last(t, alice))
	}
	got = rs.step("lockout", func() { olLockout(t, env, "uid=dave,"+f.people) }, dave)
	if e := got.last(t, dave); e.Attr("pwdaccountlockedtime") == "" || e.Attr("pwdaccountlockedtime") == "000001010000Z" || len(got.deleted) != 0 {
		t.Errorf("lockout: %+v, deleted %v (a lockout is an ordinary change)", e, got.deleted)
	}
	got = rs.step("account expiry", modify("uid=alice,"+f.people, func(m *goldap.ModifyRequest) {
		m.Add("objectClass", []string{"shadowAccount"})
		m.Replace("shadowExpire", []string{"20500"})
	}), alice)
	attrIs(t, got.last(t, alice), "shadowExpire", "20500")
	got = rs.step("group add", modify("cn=inner,"+f.groups, func(m *goldap.ModifyRequest) { m.Add("member", []string{"uid=dave," + f.people}) }), inner)
	// bob's member value still names uid=bob: this slapd has no refint
	// overlay to follow the rename, and a DN that resolves to nobody is dropped.
	if e := got.last(t, inner); !slices.Equal(sorted(e.Members...), sorted(dave, outer)) {
		t.Errorf("inner after add: %v", e.Members)
	}
	got = rs.step("group remove", modify("cn=inner,"+f.groups, func(m *goldap.ModifyRequest) { m.Delete("member", []string{"cn=outer," + f.groups}) }), inner)
	if e := got.last(t, inner); !slices.Equal(e.Members, []string{dave}) {
		t.Errorf("inner after remove: %v", e.Members)
	}
	var nested string
	got = rs.stepWant("nested group", func() {
		mustAdd(t, c, "cn=nested,"+f.groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"nested"}, "member": {"uid=alice," + f.people}})
		nested = olUUID(t, c, "cn=nested,"+f.groups)
		mustModify(t, c, "cn=outer,"+f.groups, func(m *goldap.ModifyRequest) { m.Add("member", []string{"cn=nested," + f.groups}) })
	}, func() []string { return []string{nested, outer} })
	if e := got.last(t, outer); !slices.Contains(e.Members, nested) {
		t.Errorf("outer after nesting: %v", e.Members)
	}
	del := func() {
		if err := c.Del(goldap.NewDelRequest("uid=dave,"+f.people, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if polling {
		rs.step("delete (not visible to polling)", del)
	} else {
		rs.step("delete", del, dave)
	}
	t.Logf("%s: %d steps, each restarted and resumed: %v", wantMethod, len(rs.stepDurations), rs.stepDurations)
}

func olUUID(t *testing.T, c *goldap.Conn, dn string) string {
	t.Helper()
	id, err := canonicalUUID(readEntry(t, c, dn, "entryUUID").GetAttributeValue("entryUUID"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(id)
}

// TestOpenLDAPWithoutSyncprov: a slapd that offers no syncrepl (and so
// keeps no contextCSN) is followed by entryCSN polling, which auto picks
// and Check explains. Without contextCSN a poll stops at now minus
// changes.clockLag, so a change appears after that lag and exactly once.
func TestOpenLDAPWithoutSyncprov(t *testing.T) {
	slapd := startPrivateSlapd(t, "nosyncprov", 3899, 20, "OL_SYNCPROV=0")
	env := slapd.env
	settings := env.settings("ou=people,"+env.base, "changes: {interval: 200ms, clockLag: 300ms}")
	src := newSource(t, settings, "uid", "mail")
	r := fullRead(t, src)
	var cur Cursor
	if err := json.Unmarshal(r.cursor, &cur); err != nil || cur.Method != MethodPoll || cur.PollAttr != PollEntryCSN || len(cur.ContextCSN) != 0 {
		t.Fatalf("cursor without syncprov: %s (%v)", r.cursor, err)
	}
	if f := runCheck(t, settings)["change detection"]; f.Severity != directory.SeverityWarning || !strings.Contains(f.Message, "does not answer syncrepl") {
		t.Errorf("check: %+v", f)
	}
	c := adminConn(t, env.ldapsURL, env.ca, env.bindDN, env.bindPW)
	w := startWatch(t, src, r.cursor)
	start := time.Now()
	for i := 0; i < 3; i++ {
		mail := fmt.Sprintf("p%d@changed.test", i)
		mustModify(t, c, fmt.Sprintf("uid=p%06d,ou=people,%s", i, env.base), func(m *goldap.ModifyRequest) { m.Replace("mail", []string{mail}) })
	}
	seen := map[string]int{}
	w.until(t, "three changed people", func(p directory.Page) bool {
		for _, e := range p.Entries {
			if strings.HasSuffix(e.Attr("mail"), "@changed.test") {
				seen[e.Attr("uid")]++
			}
		}
		return len(seen) == 3
	})
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("changes delivered after %s, before the clock lag passed", time.Since(start))
	}
	mustModify(t, c, "uid=p000010,ou=people,"+env.base, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"marker@x.test"}) })
	w.until(t, "the marker", func(p directory.Page) bool {
		for _, e := range p.Entries {
			seen[e.Attr("uid")]++
		}
		return hasEntry(p, func(e directory.Entry) bool { return e.Attr("mail") == "marker@x.test" })
	})
	w.stop(t)
	for uid, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", uid, n)
		}
	}
}

// olLockout binds with a wrong password until ppolicy locks the account
// (result 49 each time; then the right password is refused too).
func olLockout(t *testing.T, env olEnv, dn string) {
	t.Helper()
	bind := func(pw string) error {
		c, err := goldap.DialURL(env.url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Bind(dn, pw)
	}
	if err := bind(davePassword); err != nil {
		t.Fatalf("dave cannot bind before the lockout: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := bind("wrong-password"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			t.Fatalf("bad bind %d: %v", i+1, err)
		}
	}
	if err := bind(davePassword); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Fatalf("dave is not locked out: %v", err)
	}
}
