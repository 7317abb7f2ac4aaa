package ldap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/internal/testenv"
)

// privateSlapd starts a slapd of its own with scripts/testenv/openldap.sh,
// for tests that stop the server or need a big seed. Its directory lies
// outside the testenv dir so its env file never shadows the shared one.
type privateSlapd struct {
	env  olEnv
	stop string // path of its stop.sh
}

func startPrivateSlapd(t testing.TB, name string, port int, people int, tunables ...string) privateSlapd {
	t.Helper()
	testenv.RequireRoot(t, "a private slapd (scripts/testenv/openldap.sh)")
	dir := filepath.Join(os.TempDir(), "dirbridge-ldap-"+name)
	seed := filepath.Join(os.TempDir(), fmt.Sprintf("dirbridge-ldap-seed-%d.ldif", people))
	if err := writeSeed(seed, people); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "../../scripts/testenv/openldap.sh", dir, fmt.Sprint(port))
	cmd.Env = append(append(os.Environ(), "OL_SEED_LDIF="+seed, "OL_LOGLEVEL=0"), tunables...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start slapd in %s: %v\n%s", dir, err, out)
	}
	vars, err := readEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	p := privateSlapd{stop: vars["OL_STOP"], env: olEnv{vars["OL_LDAP_URL"], vars["OL_LDAPS_URL"], vars["OL_BIND_DN"],
		vars["OL_BIND_PW"], vars["OL_BASE_DN"], vars["OL_CA_CERT"]}}
	t.Cleanup(func() { exec.Command(p.stop, "--purge").Run() })
	return p
}

// writeSeed writes people inetOrgPerson entries under ou=people (once: the
// file is reused when it already exists).
func writeSeed(path string, people int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := 0; i < people; i++ {
		fmt.Fprintf(w, "dn: uid=p%06d,ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: p%06d\n"+
			"cn: Person %d\nsn: %d\ngivenName: Given%d\nmail: p%06d@example.test\ntitle: Engineer\n\n", i, i, i, i, i, i)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if ok {
			vars[k] = strings.Trim(v, "'")
		}
	}
	return vars, nil
}

// TestServerStoppedMidRead stops slapd after the first page: the read must
// fail with a clear error and never return a cursor, so the agent cannot
// take the people it never saw as deleted.
func TestServerStoppedMidRead(t *testing.T) {
	slapd := startPrivateSlapd(t, "stopped", 3893, 2000)
	src := newSource(t, slapd.env.settings("ou=people,"+slapd.env.base, "")+"reconnect: {attempts: 1}\n")
	src.cfg.PageSize = 100
	seen, pages := 0, 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cursor, err := src.FullRead(ctx, func(_ context.Context, p directory.Page) error {
		pages++
		seen += len(p.Entries)
		if pages == 1 {
			if out, err := exec.Command(slapd.stop).CombinedOutput(); err != nil {
				t.Errorf("stop slapd: %v\n%s", err, out)
			}
		}
		return nil
	})
	if err == nil || cursor != nil {
		t.Fatalf("read of a stopped server: cursor %q, err %v, after %d entries", cursor, err, seen)
	}
	if !errors.Is(err, ErrIncompleteRead) || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), slapd.env.url) {
		t.Errorf("error %q should say the read is incomplete because %s went away", err, slapd.env.url)
	}
	if seen >= 2000 {
		t.Errorf("saw all %d entries although the server stopped after the first page", seen)
	}
	t.Logf("stopped after %d of 2000 entries: %v", seen, err)
}

// TestHandlerErrorReturnedUnchanged: the consumer's error ends the read and
// comes back as it was (directory.Handler's contract).
func TestHandlerErrorReturnedUnchanged(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""))
	stopErr := errors.New("store is full")
	cursor, err := src.FullRead(context.Background(), func(context.Context, directory.Page) error { return stopErr })
	if err != stopErr || cursor != nil {
		t.Fatalf("got cursor %q, err %v; want the handler's error unchanged", cursor, err)
	}
}

// TestCanceledReadIsIncomplete: a canceled context aborts the page in
// flight and the read is not complete.
func TestCanceledReadIsIncomplete(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	src := newSource(t, env.settings(f.root, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cursor, err := src.FullRead(ctx, func(context.Context, directory.Page) error { cancel(); return nil })
	if !errors.Is(err, ErrIncompleteRead) || !errors.Is(err, context.Canceled) || cursor != nil {
		t.Fatalf("canceled read: cursor %q, err %v", cursor, err)
	}
}

// restart starts the private slapd again on its old database (its session
// log, kept in memory, is then empty) and waits until it answers.
func (p privateSlapd) restart(t *testing.T) {
	t.Helper()
	dir := filepath.Dir(p.stop)
	cmd := exec.Command("setsid", "slapd", "-d", "0", "-f", filepath.Join(dir, "slapd.conf"), "-h", p.env.url+"/ "+p.env.ldapsURL+"/")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() // reaped when stop.sh ends it
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := goldap.DialURL(p.env.url)
		if err == nil {
			err = c.Bind(p.env.bindDN, p.env.bindPW)
			c.Close()
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted slapd does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // bounded readiness poll
	}
}

// TestWatchAfterSlapdRestartNeedsFullRead: a watch ends with an error (not
// silently) when slapd stops; a delete is then made while nobody watches,
// and the restart empties slapd's session log. The server can only answer
// the old cookie with a present phase, from which deletes cannot be told
// without the store's IDs: Watch must ask for a full read instead of
// silently missing the delete.
func TestWatchAfterSlapdRestartNeedsFullRead(t *testing.T) {
	slapd := startPrivateSlapd(t, "restart", 3897, 20)
	src := newSource(t, slapd.env.settings("ou=people,"+slapd.env.base, "")+"reconnect: {attempts: 1}\n")
	r := fullRead(t, src)
	w := startWatch(t, src, r.cursor)
	if out, err := exec.Command(slapd.stop).CombinedOutput(); err != nil {
		t.Fatalf("stop: %v %s", err, out)
	}
	select {
	case err := <-w.done:
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), slapd.env.url) {
			t.Errorf("watch of a stopped server ended with %v, want an error naming %s", err, slapd.env.url)
		}
		t.Logf("watch of a stopped server: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not notice that slapd stopped")
	}
	slapd.restart(t)
	c := adminConn(t, slapd.env.ldapsURL, slapd.env.ca, slapd.env.bindDN, slapd.env.bindPW)
	if err := c.Del(goldap.NewDelRequest("uid=p000003,ou=people,"+slapd.env.base, nil)); err != nil {
		t.Fatal(err)
	}
	slapd.stopAndRestart(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := src.Watch(ctx, r.cursor, func(_ context.Context, p directory.Page) error {
		t.Logf("page: %d entries, deleted %v", len(p.Entries), p.Deleted)
		return nil
	})
	if !errors.Is(err, directory.ErrFullReadRequired) {
		t.Fatalf("watch after restart: %v, want ErrFullReadRequired", err)
	}
	t.Log(err)
}

func (p privateSlapd) stopAndRestart(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(p.stop).CombinedOutput(); err != nil {
		t.Fatalf("stop: %v %s", err, out)
	}
	p.restart(t)
}
