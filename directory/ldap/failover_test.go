package ldap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// TestADFailoverToSecondDC joins a second DC and follows the domain
// through DC1 with both AD methods. A change made on DC1 and replicated,
// then DC1 stops: the source fails over to DC2, whose USNs and DirSync
// state are its own, so Watch asks for a full read (instead of resuming
// with DC1's watermark and skipping or repeating), the full read from DC2
// holds the change, and Watch then follows DC2.
func TestADFailoverToSecondDC(t *testing.T) {
	v := startPrivateSambaEnv(t, "dc2", "127.0.0.46", "AD_DC2_IP=127.0.0.47", "AD_SVC_DIRSYNC=1", "AD_SVC_DELETED=1")
	env := adEnvFrom(v)
	dc2 := env
	dc2.ldapsURL = v["AD_DC2_LDAPS_URL"]
	c1, c2 := env.admin(t), dc2.admin(t)
	ou := "OU=f" + nonce() + "," + env.base
	mustAdd(t, c1, ou, map[string][]string{"objectClass": {"organizationalUnit"}})
	addADUser(t, c1, "CN=alice,"+ou, "alice-"+nonce())
	awaitReplica(t, c2, "CN=alice,"+ou)
	settings, cursors := map[string]string{}, map[string][]byte{}
	for _, method := range []string{MethodUSN, MethodDirSync} {
		settings[method] = fmt.Sprintf("urls: [%s, %s]\ntls: {caFile: %s}\nbind: {dn: %s, password: %s}\npeople: {base: %s}\ngroups: {base: %s}\nreconnect: {attempts: 1}\nchanges: {method: %s, interval: 200ms}\n",
			yamlQuote(env.ldapsURL), yamlQuote(dc2.ldapsURL), yamlQuote(env.ca), yamlQuote(env.svcDN), yamlQuote(env.svcPW), yamlQuote(ou), yamlQuote(ou), method)
		cursors[method] = followOnDC1(t, settings[method], c1, ou, method)
	}
	// A change DC1 makes and replicates, then DC1 stops before any source saw it.
	bob := "CN=bob," + ou
	addADUser(t, c1, bob, "bob-"+nonce())
	awaitReplica(t, c2, bob)
	stopDC1(t, v)
	for _, method := range []string{MethodUSN, MethodDirSync} {
		t.Run(method, func(t *testing.T) { failover(t, settings[method], cursors[method], c2, bob, method) })
	}
}

// followOnDC1 reads and follows one change through DC1 and returns the
// committed cursor.
func followOnDC1(t *testing.T, settings string, c1 *goldap.Conn, ou, method string) []byte {
	r := fullRead(t, newSource(t, settings, "description"))
	if !strings.Contains(string(r.cursor), "127.0.0.46") {
		t.Fatalf("the first read did not use DC1: %s", r.cursor)
	}
	alice := r.get(t, "CN=alice,"+ou).ID
	w := startWatch(t, newSource(t, settings, "description"), r.cursor)
	mustModify(t, c1, "CN=alice,"+ou, func(m *goldap.ModifyRequest) { m.Replace("description", []string{method + "-on-dc1"}) })
	w.until(t, "alice's change on DC1", func(p directory.Page) bool {
		return hasEntry(p, func(e directory.Entry) bool { return e.ID == alice && e.Attr("description") == method+"-on-dc1" })
	})
	w.stop(t)
	return w.last
}

// failover: DC1's cursor on DC2 asks for a full read, which holds the
// change DC1 made; then Watch follows DC2.
func failover(t *testing.T, settings string, cursor []byte, c2 *goldap.Conn, bob, method string) {
	src := newSource(t, settings, "description")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := src.Watch(ctx, cursor, func(context.Context, directory.Page) error { return nil })
	if !errors.Is(err, directory.ErrFullReadRequired) || !strings.Contains(err.Error(), "another domain controller") {
		t.Fatalf("Watch on DC2 with DC1's cursor: %v, want ErrFullReadRequired (another DC)", err)
	}
	r := fullRead(t, src)
	b := r.get(t, bob) // nothing lost: the change DC1 made is in DC2's full read
	if !strings.Contains(string(r.cursor), "127.0.0.47") {
		t.Fatalf("the full read after failover did not use DC2: %s", r.cursor)
	}
	w := startWatch(t, src, r.cursor)
	mustModify(t, c2, bob, func(m *goldap.ModifyRequest) { m.Replace("description", []string{method + "-on-dc2"}) })
	w.until(t, "bob's change on DC2", func(p directory.Page) bool {
		return hasEntry(p, func(e directory.Entry) bool { return e.ID == b.ID && e.Attr("description") == method+"-on-dc2" })
	})
	w.stop(t)
}

// awaitReplica polls DC2 until dn has replicated (about a second here).
func awaitReplica(t *testing.T, c *goldap.Conn, dn string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err == nil && len(res.Entries) == 1 {
			return
		}
		time.Sleep(100 * time.Millisecond) // polling the replica with a deadline
	}
	t.Fatalf("%s did not replicate to DC2 within 60s", dn)
}

func dc1PID(v map[string]string) int {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(v["AD_CA_CERT"]), "..", "run", "samba.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stopDC1 stops the first DC (started by this test) and waits until it is gone.
func stopDC1(t *testing.T, v map[string]string) {
	t.Helper()
	pid := dc1PID(v)
	if pid == 0 {
		t.Fatal("no pid file for DC1")
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("DC1 (pid %d) did not stop", pid)
		}
		time.Sleep(100 * time.Millisecond) // polling for the exit with a deadline
	}
}
