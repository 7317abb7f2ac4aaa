package agent

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/outbox"
)

// TestGuardHoldsAScopeTypoWhole: 600 people provisioned from real slapd;
// the mapping's assignment is changed to an empty OU (a typo). The guard
// holds the whole re-plan batch before anything is sent, the hold survives a
// restart, an unrelated termination still goes out, deny leaves everyone
// active and approve deactivates all of them. The percentage limit uses the
// app's active-account count from the first sync on.
func TestGuardHoldsAScopeTypoWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("adds 600 people to slapd")
	}
	d := openLDAPDir(t)
	c := dial(t, d.url, d.ca, d.adminDN, d.adminPW)
	tag := randomTag()
	ou := "ou=dbguard" + tag + "," + d.base
	staff, contractors, empty := "ou=staff,"+ou, "ou=contractors,"+ou, "ou=empty,"+ou
	add(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"dbguard" + tag}})
	t.Cleanup(func() { treeDelete(c, ou) })
	for _, sub := range []string{staff, contractors, empty} {
		add(t, c, sub, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {strings.TrimPrefix(strings.Split(sub, ",")[0], "ou=")}})
	}
	const staffCount = 600
	for i := 0; i < staffCount; i++ {
		addReq(t, c, d.person(c, fmt.Sprintf("cn=s%d,%s", i, staff), fmt.Sprintf("s%d%s", i, tag)))
	}
	contractor := "cn=k1," + contractors
	addReq(t, c, d.person(c, contractor, "k1"+tag))
	group := "cn=g" + tag + "," + ou
	addReq(t, c, d.group(group, "g"+tag, contractor))

	cfg := realWorkspace(t, d, ou, group, "changes: {method: syncrepl}\n")
	w := &world{t: t, dir: filepath.Dir(cfg.File)}
	w.editFile("mapping.yaml", func(m string) string {
		return strings.Replace(m, "      - group: "+fmt.Sprintf("%q", group)+"\n",
			fmt.Sprintf("      - when: inOU(%q)\n      - group: %q\n", staff, group), 1)
	})
	w.start(Options{})
	t.Cleanup(w.stop)
	w.waitLong("601 Creates", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateCompleted] == staffCount+1 })
	if n := w.activeInApp("wiki"); n != staffCount+1 {
		t.Fatalf("the app has %d active accounts", n)
	}

	// The typo: everyone in staff leaves the app's scope at once.
	w.editFile("mapping.yaml", func(m string) string { return strings.Replace(m, staff, empty, 1) })
	w.waitLong("the whole batch held", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateAwaitingApproval] == staffCount })
	held, _ := outboxHeld(w, "wiki")
	if r := held[0].HeldBecause; !strings.Contains(r, "600 deactivations") || !strings.Contains(r, "20% of the 601 active accounts") {
		t.Errorf("held because %q; want the batch size and the percentage limit", r)
	}
	if n := w.activeInApp("wiki"); n != staffCount+1 {
		t.Fatalf("%d accounts active while the batch is held: something was sent before the guard decided", n)
	}

	// A restart keeps the hold.
	w.stop()
	w.start(Options{})
	time.Sleep(2 * time.Second)
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		if c := tx.Counts("wiki"); c[outbox.StateAwaitingApproval] != staffCount || c[outbox.StateCompleted] != staffCount+1 {
			t.Errorf("after a restart: %v", c)
		}
		return nil
	})

	// An unrelated termination is not stuck behind the held batch.
	k1 := personID(t, w.a, "k1"+tag)
	modify(t, c, contractor, func(m *goldap.ModifyRequest) { m.Replace("description", []string{"disabled"}) })
	w.waitFor("the contractor's Deactivate", func(tx *outbox.Tx) bool { return completed(tx, "wiki", k1, connectors.OpDeactivate) })

	batch := held[0].Batch
	update(t, w.a.store, func(tx *outbox.Tx) error {
		n, err := tx.DecideBatch(batch, "wiki", "security-officer", false, nil)
		if n != staffCount {
			t.Errorf("denied %d", n)
		}
		return err
	})
	time.Sleep(time.Second)
	if n := w.activeInApp("wiki"); n != staffCount {
		t.Fatalf("after deny the app has %d active accounts, want %d", n, staffCount)
	}

	// The mapping is saved again (still the typo): the re-plan proposes the
	// batch again, and this time an approver lets it through.
	w.editFile("mapping.yaml", func(m string) string { return m + "# saved again\n" })
	w.waitLong("the batch held again", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateAwaitingApproval] == staffCount })
	held, _ = outboxHeld(w, "wiki")
	update(t, w.a.store, func(tx *outbox.Tx) error {
		n, err := tx.DecideBatch(held[0].Batch, "wiki", "security-officer", true, nil)
		if n != staffCount {
			t.Errorf("approved %d", n)
		}
		return err
	})
	w.a.poke()
	w.waitLong("everyone deactivated", func(*outbox.Tx) bool { return w.activeInApp("wiki") == 0 })
}

// waitLong is waitFor with room for hundreds of deliveries.
func (w *world) waitLong(what string, cond func(tx *outbox.Tx) bool) {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		ok := false
		_ = w.a.store.View(func(tx *outbox.Tx) error { ok = cond(tx); return nil })
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var c map[outbox.State]int
	_ = w.a.store.View(func(tx *outbox.Tx) error { c = tx.Counts("wiki"); return nil })
	w.t.Fatalf("timed out waiting for %s; requests %v, mapping %+v", what, c, w.a.maps.Status())
}

func (w *world) activeInApp(app string) int {
	recs, err := w.a.apps[app].conn.(*mock.Mock).Records()
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Status == connectors.StatusActive {
			n++
		}
	}
	return n
}

// TestAGuardWindowHoldsATrickle: single deactivations, each its own batch,
// are admitted until the window's limit, and the one that crosses it is
// held.
func TestAGuardWindowHoldsATrickle(t *testing.T) {
	w := startWorldWith(t, func(cfg string) string { return cfg + "guard:\n  maxDeactivations: 3\n" })
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	people := slackPeople(w)
	for i := 0; i < 4; i++ {
		w.edit(func(e []*goldap.Entry) []*goldap.Entry { return setAttr(e, people[i], "userAccountControl", "514") })
		if i < 3 {
			w.waitFor("a deactivation admitted", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 34+i })
		}
	}
	w.waitFor("the fourth held", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateAwaitingApproval] == 1 })
	held, _ := outboxHeld(w, "slack")
	if !strings.Contains(held[0].HeldBecause, "1 deactivation (with 3 already admitted") {
		t.Errorf("held because %q", held[0].HeldBecause)
	}
	// The window survives a restart: a fifth is held as well.
	w.stop()
	w.start(Options{})
	w.edit(func(e []*goldap.Entry) []*goldap.Entry { return setAttr(e, people[4], "userAccountControl", "514") })
	w.waitFor("the fifth held after a restart", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateAwaitingApproval] == 2 })
}

// slackPeople lists the logins of the demo's Slack users, in order.
func slackPeople(w *world) []string {
	var out []string
	for _, e := range w.entries {
		if strings.HasPrefix(e.DN, "CN=Slack Users,") {
			for _, m := range e.GetAttributeValues("member") {
				for _, p := range w.entries {
					if p.DN == m {
						out = append(out, p.GetAttributeValue("sAMAccountName"))
					}
				}
			}
		}
	}
	return out
}
