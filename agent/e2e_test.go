package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	goldif "github.com/go-ldap/ldif"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/demo"
	_ "github.com/dirbridge/dirbridge/directory/ldif"
	"github.com/dirbridge/dirbridge/outbox"
)

// world is a running agent on a demo workspace whose LDIF the test edits.
type world struct {
	t       *testing.T
	dir     string
	a       *Agent
	entries []*ldap.Entry
	cancel  context.CancelFunc
	done    chan error
}

func startWorld(t *testing.T) *world { return startWorldEdited(t, nil, nil) }

// startWorldWith runs the agent on a demo workspace whose config text edit
// may change (another connector, other settings).
func startWorldWith(t *testing.T, edit func(cfg string) string) *world {
	return startWorldEdited(t, edit, nil)
}

// startWorldEdited also lets the test change the mapping before the start.
func startWorldEdited(t *testing.T, edit, editMapping func(string) string) *world {
	t.Helper()
	dir := t.TempDir()
	if err := demo.Write(dir, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, entries: demo.Directory()}
	if editMapping != nil {
		m, _ := os.ReadFile(filepath.Join(dir, demo.MappingFile))
		if err := os.WriteFile(filepath.Join(dir, demo.MappingFile), []byte(editMapping(string(m))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgText, _ := os.ReadFile(filepath.Join(dir, demo.ConfigFile))
	// poll faster than the demo does
	cfgText = []byte(strings.ReplaceAll(string(cfgText), "pollInterval: 1s", "pollInterval: 50ms"))
	if edit != nil {
		cfgText = []byte(edit(string(cfgText)))
	}
	if err := os.WriteFile(filepath.Join(dir, demo.ConfigFile), cfgText, 0o600); err != nil {
		t.Fatal(err)
	}
	w.start(Options{})
	t.Cleanup(w.stop)
	return w
}

// start runs a new agent on the world's workspace (its state as the last
// run left it); opts.Config and opts.Logger are filled in.
func (w *world) start(opts Options) { w.t.Helper(); w.startConfig(demo.ConfigFile, opts) }

// startConfig is start with another config file name.
func (w *world) startConfig(name string, opts Options) {
	w.t.Helper()
	cfg, err := config.Load(filepath.Join(w.dir, name))
	if err != nil {
		w.t.Fatal(err)
	}
	opts.Config, opts.Logger = cfg, zerolog.New(zerolog.NewTestWriter(w.t)).Level(zerolog.WarnLevel)
	a, err := New(opts)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.a, w.cancel, w.done = a, cancel, make(chan error, 1)
	go func() { w.done <- a.Run(ctx) }()
}

// editFile rewrites a workspace file through fn.
func (w *world) editFile(name string, fn func(string) string) {
	w.t.Helper()
	path := filepath.Join(w.dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(fn(string(b))), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	if err := <-w.done; err != nil {
		w.t.Errorf("agent stopped with %v", err)
	}
	w.cancel = nil
	w.a.Close()
}

// edit changes the demo directory and rewrites the LDIF the agent watches.
func (w *world) edit(fn func(entries []*ldap.Entry) []*ldap.Entry) {
	w.t.Helper()
	w.entries = fn(w.entries)
	f, err := os.Create(filepath.Join(w.dir, demo.LDIFFile) + ".tmp")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := goldif.Dump(f, 0, w.entries); err != nil {
		w.t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(f.Name(), filepath.Join(w.dir, demo.LDIFFile)); err != nil {
		w.t.Fatal(err)
	}
}

func setAttr(entries []*ldap.Entry, login, attr string, values ...string) []*ldap.Entry {
	for _, e := range entries {
		if e.GetAttributeValue("sAMAccountName") != login {
			continue
		}
		kept := e.Attributes[:0]
		for _, a := range e.Attributes {
			if !strings.EqualFold(a.Name, attr) {
				kept = append(kept, a)
			}
		}
		e.Attributes = kept
		if len(values) > 0 {
			e.Attributes = append(e.Attributes, ldap.NewEntryAttribute(attr, values))
		}
	}
	return entries
}

func setMember(entries []*ldap.Entry, group, dn string, member bool) []*ldap.Entry {
	for _, e := range entries {
		if !strings.HasPrefix(e.DN, "CN="+group+",") {
			continue
		}
		var vals []string
		for _, v := range e.GetAttributeValues("member") {
			if v != dn {
				vals = append(vals, v)
			}
		}
		if member {
			vals = append(vals, dn)
		}
		for _, a := range e.Attributes {
			if a.Name == "member" {
				a.Values = vals
			}
		}
	}
	return entries
}

// waitFor polls the store until cond holds (deliveries are asynchronous).
func (w *world) waitFor(what string, cond func(tx *outbox.Tx) bool) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok := false
		_ = w.a.store.View(func(tx *outbox.Tx) error { ok = cond(tx); return nil })
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("timed out waiting for %s", what)
}

// completed reports whether person's latest request in app is a completed op.
func completed(tx *outbox.Tx, app, person string, op connectors.Operation) bool {
	reqs, _ := tx.ListRequests(outbox.Filter{App: app, PersonID: person, Limit: 1})
	return len(reqs) == 1 && reqs[0].Op == op && reqs[0].State == outbox.StateCompleted
}

func (w *world) mockRecord(app, anchorLogin string) mock.Record {
	w.t.Helper()
	recs, err := w.a.apps[app].conn.(*mock.Mock).Records()
	if err != nil {
		w.t.Fatal(err)
	}
	var found []mock.Record
	for _, r := range recs {
		if r.UserName == anchorLogin+"@corp.example" {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("%s has %d accounts for %s, want exactly 1", app, len(found), anchorLogin)
	}
	return found[0]
}

func personID(t *testing.T, a *Agent, login string) string {
	v, err := a.Person(context.Background(), login)
	if err != nil {
		t.Fatal(err)
	}
	return v.Person.ID
}

func TestEndToEndEveryOperation(t *testing.T) {
	w := startWorld(t)
	people := demo.People()
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool {
		c := tx.Counts("slack")
		return c[outbox.StateCompleted] == 33 && tx.Counts("salesforce")[outbox.StateCompleted] == 19
	})
	alice := people[0] // Sales, in Slack
	id := personID(t, w.a, alice.Login)
	if r := w.mockRecord("salesforce", alice.Login); r.Profile != "Standard User" || len(r.PermissionSets) != 1 || r.Status != connectors.StatusActive {
		t.Fatalf("salesforce account: %+v", r)
	}
	// The anchor is the objectGUID in its canonical form, exactly as the
	// person's id: binary values must survive the store unchanged.
	if r := w.mockRecord("slack", alice.Login); r.Anchor != id {
		t.Fatalf("slack anchor %q, want the objectGUID %s", r.Anchor, id)
	}

	steps := []struct {
		name  string
		edit  func([]*ldap.Entry) []*ldap.Entry
		app   string
		op    connectors.Operation
		check func(r mock.Record) bool
	}{
		{"a title change is an Update", func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "title", "Head of Sales") },
			"slack", connectors.OpUpdate, func(r mock.Record) bool { return r.Attributes["title"] == "Head of Sales" }},
		{"disabling is a Deactivate", func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "userAccountControl", "514") },
			"slack", connectors.OpDeactivate, func(r mock.Record) bool { return r.Status == connectors.StatusDeactivated }},
		{"enabling again is an Activate", func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "userAccountControl", "512") },
			"slack", connectors.OpActivate, func(r mock.Record) bool { return r.Status == connectors.StatusActive }},
		{"leave of absence is a Freeze", func(e []*ldap.Entry) []*ldap.Entry {
			return setAttr(e, alice.Login, "extensionAttribute1", "leave-of-absence")
		}, "slack", connectors.OpFreeze, func(r mock.Record) bool { return r.Status == connectors.StatusFrozen }},
		{"coming back is an Unfreeze", func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "extensionAttribute1") },
			"slack", connectors.OpUnfreeze, func(r mock.Record) bool { return r.Status == connectors.StatusActive }},
		{"leaving the group is a Deactivate", func(e []*ldap.Entry) []*ldap.Entry {
			return setMember(e, "Slack Users", w.entries[0].DN, false)
		}, "slack", connectors.OpDeactivate, func(r mock.Record) bool { return r.Status == connectors.StatusDeactivated }},
		{"joining again is a Reactivate", func(e []*ldap.Entry) []*ldap.Entry {
			return setMember(e, "Slack Users", w.entries[0].DN, true)
		}, "slack", connectors.OpReactivate, func(r mock.Record) bool { return r.Status == connectors.StatusActive }},
		{"a deleted person is deactivated", func(e []*ldap.Entry) []*ldap.Entry { return e[1:] },
			"salesforce", connectors.OpDeactivate, func(r mock.Record) bool { return r.Status == connectors.StatusDeactivated }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.t = t
			w.edit(s.edit)
			w.waitFor(fmt.Sprintf("a completed %s in %s", s.op, s.app), func(tx *outbox.Tx) bool { return completed(tx, s.app, id, s.op) })
			if r := w.mockRecord(s.app, alice.Login); !s.check(r) {
				t.Fatalf("after %s the %s account is %+v", s.op, s.app, r)
			}
		})
	}
	w.t = t
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		if err := tx.CheckInvariants(); err != nil {
			t.Error(err)
		}
		if c := tx.Counts("slack"); c[outbox.StateFailed]+c[outbox.StateRetrying] != 0 {
			t.Errorf("slack requests: %v", c)
		}
		return nil
	})
}

func TestUniqueUserNamesAcrossPeople(t *testing.T) {
	// Given names repeat in the demo (ten names for 50 people): unique() must
	// give the second Alice the next candidate, not the first Alice's name.
	w := startWorldWith(t, func(cfg string) string { return cfg })
	mappingPath := filepath.Join(w.dir, demo.MappingFile)
	text, _ := os.ReadFile(mappingPath)
	uniq := strings.Replace(string(text), `userName: lower(sAMAccountName) + "@corp.example"`,
		`userName: unique([lower(givenName) + "@corp.example", lower(givenName) + "." + lower(sn) + "@corp.example", lower(sAMAccountName) + "@corp.example"])`, 1)
	if uniq == string(text) {
		t.Fatal("the demo mapping changed; update this test")
	}
	if err := os.WriteFile(mappingPath, []byte(uniq), 0o600); err != nil {
		t.Fatal(err)
	}
	w.waitFor("a mapping with unique userNames applied", func(tx *outbox.Tx) bool {
		n := 0
		_ = tx.States("slack", func(st outbox.AppState) error {
			if st.Desired != nil && !strings.Contains(st.Desired.UserName, "0@") && strings.Count(st.Desired.UserName, ".") >= 1 {
				n++
			}
			return nil
		})
		return n > 0
	})
	seen := map[string]string{}
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		return tx.States("", func(st outbox.AppState) error {
			if st.Desired == nil {
				return nil
			}
			key := st.App + "/" + strings.ToLower(st.Desired.UserName)
			if other, dup := seen[key]; dup && other != st.PersonID {
				t.Errorf("%s is given to %s and %s", key, other, st.PersonID)
			}
			seen[key] = st.PersonID
			return nil
		})
	})
}

func TestOnePersonsFailureDoesNotStopTheOthers(t *testing.T) {
	// With only the given name as a candidate, the second Alice cannot get a
	// userName: her evaluation fails, everyone else is provisioned, and the
	// status shows who failed and why.
	w := startWorldEdited(t, nil, func(m string) string {
		return strings.Replace(m, `userName: lower(sAMAccountName) + "@corp.example"`,
			`userName: unique([lower(givenName) + "." + lower(sn) + "@corp.example"])`, 1)
	})
	// The demo's given.family pairs are all distinct; renaming Bob Martin to
	// Alice Martin makes his only candidate one that Alice already holds.
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	bob := demo.People()[1]
	w.edit(func(e []*ldap.Entry) []*ldap.Entry {
		e = setAttr(e, bob.Login, "givenName", "Alice")
		return e
	})
	deadline := time.Now().Add(15 * time.Second)
	for len(w.a.status.get().EvalErrors) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no evaluation error reported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ee := w.a.status.get().EvalErrors[0]
	if !strings.Contains(ee.DN, "Bob Martin") || !strings.Contains(ee.Error, "taken") {
		t.Fatalf("evaluation error: %+v", ee)
	}
	// Others still flow: disabling someone else is delivered.
	dave := demo.People()[3] // in Slack
	id := personID(t, w.a, dave.Login)
	w.edit(func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, dave.Login, "userAccountControl", "514") })
	w.waitFor("dave's Deactivate despite bob's failure", func(tx *outbox.Tx) bool {
		return completed(tx, "slack", id, connectors.OpDeactivate)
	})
}

func update(t *testing.T, s *outbox.Store, fn func(*outbox.Tx) error) {
	t.Helper()
	if err := s.UpdateOne(fn); err != nil {
		t.Fatal(err)
	}
}
