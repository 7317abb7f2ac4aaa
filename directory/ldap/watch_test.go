package ldap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// watcher runs Watch in the background and collects its pages.
type watcher struct {
	pages  chan directory.Page
	done   chan error
	cancel context.CancelFunc
	last   []byte // cursor of the last page received
}

func startWatch(t *testing.T, src *Source, cursor []byte) *watcher {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	w := &watcher{pages: make(chan directory.Page, 1000), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- src.Watch(ctx, cursor, func(_ context.Context, p directory.Page) error { w.pages <- p; return nil })
	}()
	t.Cleanup(cancel)
	return w
}

// until receives pages until ok says it saw what it waits for (bounded).
func (w *watcher) until(t *testing.T, what string, ok func(directory.Page) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case p := <-w.pages:
			if p.Cursor != nil {
				w.last = p.Cursor
			}
			if ok(p) {
				return
			}
		case err := <-w.done:
			t.Fatalf("watch ended while waiting for %s: %v", what, err)
		case <-deadline:
			t.Fatalf("no page with %s within 20s", what)
		}
	}
}

func (w *watcher) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err := <-w.done; !errors.Is(err, context.Canceled) {
		t.Errorf("watch after cancel: %v", err)
	}
}

func hasEntry(p directory.Page, f func(directory.Entry) bool) bool {
	return slices.ContainsFunc(p.Entries, f)
}

// TestOpenLDAPWatchSyncrepl follows a subtree with syncrepl from the cursor
// of a full read: add, modify, rename, delete, a move out of scope and a
// group change; then resumes from the last page's cursor.
func TestOpenLDAPWatchSyncrepl(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""), "uid", "mail")
	r := fullRead(t, src)
	alice, bob, carol, weird := r.get(t, "uid=alice,"+f.people), r.get(t, "uid=bob,"+f.people), r.get(t, "uid=carol,"+f.people), r.get(t, "uid=weird,"+f.people)
	c := f.conn
	w := startWatch(t, src, r.cursor)

	mustAdd(t, c, "uid=dave,"+f.people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"dave"}, "cn": {"Dave"}, "sn": {"T"}})
	var dave string
	w.until(t, "the new person dave", func(p directory.Page) bool {
		for _, e := range p.Entries {
			if e.Attr("uid") == "dave" && e.Kind == directory.KindPerson {
				dave = e.ID
			}
		}
		return dave != ""
	})
	mustModify(t, c, "uid=alice,"+f.people, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"alice@new.test"}) })
	w.until(t, "alice's new mail", func(p directory.Page) bool {
		return hasEntry(p, func(e directory.Entry) bool { return e.ID == alice.ID && e.Attr("mail") == "alice@new.test" })
	})
	if err := c.ModifyDN(goldap.NewModifyDNRequest("uid=bob,"+f.people, "uid=robert", true, "")); err != nil {
		t.Fatal(err)
	}
	w.until(t, "bob renamed", func(p directory.Page) bool {
		return hasEntry(p, func(e directory.Entry) bool { return e.ID == bob.ID && strings.HasPrefix(e.DN, "uid=robert,") })
	})
	if err := c.Del(goldap.NewDelRequest("uid=carol,"+f.people, nil)); err != nil {
		t.Fatal(err)
	}
	w.until(t, "carol deleted", func(p directory.Page) bool { return slices.Contains(p.Deleted, carol.ID) })
	if err := c.ModifyDN(goldap.NewModifyDNRequest("uid=weird,"+f.people, "uid=weird", true, env.peopleOutside())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Del(goldap.NewDelRequest("uid=weird,"+env.peopleOutside(), nil)) })
	w.until(t, "weird moved out of scope", func(p directory.Page) bool { return slices.Contains(p.Deleted, weird.ID) })
	mustModify(t, c, "cn=inner,"+f.groups, func(m *goldap.ModifyRequest) { m.Add("member", []string{"uid=dave," + f.people}) })
	w.until(t, "dave in inner", func(p directory.Page) bool {
		return hasEntry(p, func(e directory.Entry) bool { return e.Kind == directory.KindGroup && slices.Contains(e.Members, dave) })
	})
	w.stop(t)
	if !strings.Contains(string(w.last), `"syncCookies"`) {
		t.Fatalf("last cursor %s carries no syncrepl cookie", w.last)
	}

	// Resume from the saved cursor: an add and a delete made while nobody
	// watched both arrive, and nothing older is replayed.
	mustAdd(t, c, "uid=erin,"+f.people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"erin"}, "cn": {"Erin"}, "sn": {"T"}})
	if err := c.Del(goldap.NewDelRequest("uid=alice,"+f.people, nil)); err != nil {
		t.Fatal(err)
	}
	w2 := startWatch(t, src, w.last)
	var sawErin, sawAliceGone bool
	w2.until(t, "erin and alice's delete after resuming", func(p directory.Page) bool {
		for _, e := range p.Entries {
			sawErin = sawErin || e.Attr("uid") == "erin"
			if e.Kind == directory.KindPerson && e.Attr("uid") != "erin" {
				t.Errorf("resumed watch replayed %s", e.DN)
			}
		}
		sawAliceGone = sawAliceGone || slices.Contains(p.Deleted, alice.ID)
		return sawErin && sawAliceGone
	})
	w2.stop(t)
}

// TestOpenLDAPWatchFromFullReadReplaysNothing: the cursor of a full read
// is a valid syncrepl starting point, so nothing already read is sent again.
func TestOpenLDAPWatchFromFullReadReplaysNothing(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""), "uid")
	r := fullRead(t, src)
	w := startWatch(t, src, r.cursor)
	mustAdd(t, f.conn, "uid=marker,"+f.people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"marker"}, "cn": {"M"}, "sn": {"T"}})
	w.until(t, "the marker entry", func(p directory.Page) bool {
		for _, e := range p.Entries {
			if e.Attr("uid") != "marker" {
				t.Errorf("watch from a full read's cursor replayed %s", e.DN)
			}
		}
		return hasEntry(p, func(e directory.Entry) bool { return e.Attr("uid") == "marker" })
	})
	w.stop(t)
}

// peopleOutside is the shared ou=people, outside every test's subtree.
func (e olEnv) peopleOutside() string { return "ou=people," + e.base }
