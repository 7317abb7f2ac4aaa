package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

// These tests hold the promise that the apps converge to what the mapping
// says across restarts, reloads and dry runs (issue 11): each failed on the
// agent before the mapping's application became durable.

// slackTitles returns the title of every Slack account in the mock app.
func (w *world) slackTitles() map[string]any {
	w.t.Helper()
	recs, err := w.a.apps["slack"].conn.(*mock.Mock).Records()
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]any{}
	for _, r := range recs {
		out[r.UserName] = r.Attributes["title"]
	}
	return out
}

func (w *world) waitTitles(what string, want func(title any) bool) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var titles map[string]any
	for time.Now().Before(deadline) {
		titles = w.slackTitles()
		ok := len(titles) == 33
		for _, v := range titles {
			ok = ok && want(v)
		}
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("timed out waiting for %s; the app has %v", what, titles)
}

func isUpper(v any) bool { s, _ := v.(string); return s != "" && s == strings.ToUpper(s) }

func TestMappingEditedWhileStoppedIsAppliedOnStart(t *testing.T) {
	w := startWorld(t)
	w.waitTitles("the initial titles", func(v any) bool { s, _ := v.(string); return strings.HasSuffix(s, " specialist") })
	w.stop()
	w.editFile(demo.MappingFile, func(m string) string { return strings.Replace(m, "title: title", "title: upper(title)", 1) })
	w.start(Options{})
	w.waitTitles("upper-case titles after the restart", isUpper)
	st := w.a.maps.Status()
	if st.Replan != nil || st.LastDiff["slack Update"] != 33 {
		t.Errorf("mapping status after the re-plan: %+v", st)
	}
}

func TestARePlanResumesAfterACrashWithoutDoingAnythingTwice(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	w.stop()
	w.editFile(demo.MappingFile, func(m string) string { return strings.Replace(m, "title: title", "title: upper(title)", 1) })

	// A run that plans one chunk of the re-plan and dies.
	cfg := w.a.cfg
	a, err := New(Options{Config: cfg, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), NoConnectors: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	digest, err := a.maps.compile()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.maps.ensureJob(ctx, digest, "mapping change"); err != nil {
		t.Fatal(err)
	}
	var job replanJob
	if err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		readJSON(tx, replanKey, &job)
		if _, err := a.maps.replanChunkOf(tx, a.maps.planner(), &job, 7); err != nil {
			return err
		}
		return putJSON(tx, replanKey, job)
	}); err != nil {
		t.Fatal(err)
	}
	a.Close() // the crash: the job is half done
	if job.People != 7 || job.After == "" {
		t.Fatalf("job after one chunk: %+v", job)
	}

	w.start(Options{})
	w.waitTitles("upper-case titles after the resumed re-plan", isUpper)
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		reqs, _ := tx.ListRequests(outbox.Filter{App: "slack", Ops: []connectors.Operation{connectors.OpUpdate}})
		per := map[string]int{}
		for _, r := range reqs {
			per[r.PersonID]++
		}
		if len(per) != 33 {
			t.Errorf("%d people got an Update, want 33", len(per))
		}
		for p, n := range per {
			if n != 1 {
				t.Errorf("%s got %d Updates: the resumed job planned them again", p, n)
			}
		}
		return nil
	})
}

func TestADryRunNeverTouchesTheRealState(t *testing.T) {
	dir := t.TempDir()
	if err := demo.Write(dir, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, entries: demo.Directory()}
	w.editFile(demo.ConfigFile, func(c string) string { return strings.ReplaceAll(c, "pollInterval: 1s", "pollInterval: 50ms") })
	w.start(Options{DryRun: true})
	t.Cleanup(w.stop)
	w.waitFor("the dry run's would-be Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	if got := w.a.store.Path(); got != filepath.Join(dir, "dryrun", "state.db") {
		t.Errorf("the dry run's state is %s", got)
	}
	w.stop()
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !os.IsNotExist(err) {
		t.Fatalf("the dry run created or touched the real state file: %v", err)
	}
	w.start(Options{})
	w.waitFor("the real Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	if n := len(w.slackTitles()); n != 33 {
		t.Errorf("the real app has %d accounts after the dry run, want 33", n)
	}
}

// An earlier version's dry run recorded made-up accounts in the real state
// file; the agent repairs that at start and the real app gets its accounts.
func TestResidueOfAnOldDryRunIsRepaired(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the Creates the old dry run recorded", func(tx *outbox.Tx) bool {
		return tx.Counts("salesforce")[outbox.StateCompleted] == 19
	})
	w.stop()
	// What an old dry run leaves: mock ids in the real state and the mock's
	// file beside it, while the app itself is a real connector.
	writeFile(t, filepath.Join(w.dir, "dryrun-salesforce.db"), "")
	w.editFile(demo.ConfigFile, func(c string) string {
		return strings.Replace(c, "  salesforce:\n    connector: mock\n", "  salesforce:\n    connector: test-batching\n", 1)
	})
	w.start(Options{})
	w.waitFor("the re-sent Creates", func(tx *outbox.Tx) bool { return tx.Counts("salesforce")[outbox.StateCompleted] == 38 })
	recs, err := lastBatching.Connector.(*mock.Mock).Records()
	if err != nil || len(recs) != 19 {
		t.Fatalf("the real app has %d accounts (%v), want 19", len(recs), err)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "dryrun-salesforce.db.repaired")); err != nil {
		t.Errorf("the residue marker was not retired: %v", err)
	}
}

// A mapping reloaded while the agent runs that reads a directory attribute
// the source was not fetching widens the source and waits for a full read,
// instead of evaluating the attribute as empty (real slapd: an LDAP source
// reads only the attributes it is asked for).
func TestAReloadedMappingReadsANewAttribute(t *testing.T) {
	d := openLDAPDir(t)
	c := dial(t, d.url, d.ca, d.adminDN, d.adminPW)
	tag := randomTag()
	ou := "ou=dbattr" + tag + "," + d.base
	add(t, c, ou, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"dbattr" + tag}})
	t.Cleanup(func() { treeDelete(c, ou) })
	person := func(n string) string { return "cn=" + n + tag + "," + ou }
	group := "cn=g" + tag + "," + ou
	withDept := func(login, dept string) *goldap.AddRequest {
		r := d.person(c, person(login), login+tag)
		r.Attribute("departmentNumber", []string{dept})
		return r
	}
	addReq(t, c, withDept("ann", "D-17"))
	addReq(t, c, d.group(group, "g"+tag, person("ann")))
	cfg := realWorkspace(t, d, ou, group, "changes: {method: syncrepl}\n")
	w := &world{t: t, dir: filepath.Dir(cfg.File)}
	w.start(Options{})
	t.Cleanup(w.stop)
	w.waitFor("ann's Create", func(tx *outbox.Tx) bool { return tx.Counts("wiki")[outbox.StateCompleted] == 1 })

	w.editFile("mapping.yaml", func(m string) string { return m + "      title: departmentNumber\n" })
	wikiTitle := func(login string) any {
		recs, _ := w.a.apps["wiki"].conn.(*mock.Mock).Records()
		for _, r := range recs {
			if r.UserName == login+tag+"@example.test" {
				return r.Attributes["title"]
			}
		}
		return nil
	}
	waitValue := func(login string, want any) {
		deadline := time.Now().Add(30 * time.Second)
		for wikiTitle(login) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s's title is %v, want %v; mapping %+v", login, wikiTitle(login), want, w.a.maps.Status())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitValue("ann", "D-17")
	// Someone who joins after the reload gets the attribute too.
	addReq(t, c, withDept("bob", "D-42"))
	modify(t, c, group, func(m *goldap.ModifyRequest) { m.Add("member", []string{person("bob")}) })
	waitValue("bob", "D-42")
	if st := w.a.maps.Status(); st.Waiting != "" || st.Error != "" {
		t.Errorf("mapping status: %+v", st)
	}
}
