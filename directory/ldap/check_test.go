package ldap

import (
	"context"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/internal/testenv"
)

func runCheck(t *testing.T, settings string) map[string]directory.Finding {
	t.Helper()
	src := newSource(t, settings)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]directory.Finding{}
	for _, f := range src.Check(ctx) {
		t.Logf("%s %s: %s\n  fix: %s", f.Severity, f.Subject, f.Message, f.Fix)
		out[f.Subject] = f
	}
	return out
}

// The script's default service account is a plain domain user: no DirSync
// right, no access to CN=Deleted Objects. Check must say so and print the
// exact grants, naming the account and its SID.
func TestADCheckLeastPrivilege(t *testing.T) {
	env := requireAD(t)
	if v, _ := testenv.Lookup("AD_SVC_DIRSYNC"); v == "1" {
		testenv.Unavailable(t, "this DC was started with AD_SVC_DIRSYNC=1: the service account is not least-privilege")
	}
	got := runCheck(t, env.settings(env.base, ""))
	if got["bind"].Severity != directory.SeverityOK {
		t.Fatalf("bind: %+v", got["bind"])
	}
	cd := got["change detection"]
	if cd.Severity != directory.SeverityWarning || !strings.Contains(cd.Message, "uSNChanged polling") ||
		!strings.Contains(cd.Fix, `dsacls "`+env.base+`" /G "DIRBRIDGE\svc-dirbridge:CA;Replicating Directory Changes"`) ||
		!strings.Contains(cd.Fix, "samba-tool dsacl set") || !strings.Contains(cd.Fix, "(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-") {
		t.Errorf("change detection finding: %+v", cd)
	}
	del := got["deleted objects"]
	if del.Severity != directory.SeverityWarning || !strings.Contains(del.Fix, "/takeownership") ||
		!strings.Contains(del.Fix, `DIRBRIDGE\svc-dirbridge:LCRP`) || !strings.Contains(del.Fix, "ldbmodify") {
		t.Errorf("deleted objects finding: %+v", del)
	}
}

// Administrator holds both rights: DirSync is chosen, tombstones readable.
func TestADCheckWithRights(t *testing.T) {
	env := requireAD(t)
	// A tombstone to find: a fresh DC may have none yet.
	c := env.admin(t)
	dn := "CN=tomb-" + nonce() + "," + env.base
	addADUser(t, c, dn, strings.TrimPrefix(strings.Split(dn, ",")[0], "CN="))
	if err := c.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatal(err)
	}
	settings := strings.Replace(env.settings(env.base, ""), yamlQuote(env.svcDN), yamlQuote(env.adminDN), 1)
	settings = strings.Replace(settings, yamlQuote(env.svcPW), yamlQuote(env.adminPW), 1)
	got := runCheck(t, settings)
	if f := got["change detection"]; f.Severity != directory.SeverityOK || !strings.HasPrefix(f.Message, "DirSync") {
		t.Errorf("change detection as Administrator: %+v", f)
	}
	if f := got["deleted objects"]; f.Severity != directory.SeverityOK || f.Fix != "" {
		t.Errorf("deleted objects as Administrator: %+v", f)
	}
}

func TestOpenLDAPCheck(t *testing.T) {
	env := requireOpenLDAP(t)
	got := runCheck(t, env.settings(env.base, ""))
	if f := got["bind"]; f.Severity != directory.SeverityOK || !strings.Contains(f.Message, "(openldap,") {
		t.Errorf("bind: %+v", f)
	}
	if f := got["change detection"]; f.Severity != directory.SeverityOK || !strings.Contains(f.Message, "syncrepl") {
		t.Errorf("change detection: %+v", f)
	}
}

// Scope findings: the shared suffix has people and groups from other
// tests' fixtures only while they run, so the test makes its own subtree.
func TestCheckScope(t *testing.T) {
	env := requireOpenLDAP(t)
	f := newOLFixture(t, env)
	got := runCheck(t, env.settings(f.root, ""))
	for _, subject := range []string{"scope: people", "scope: groups"} {
		if got[subject].Severity != directory.SeverityOK {
			t.Errorf("%s: %+v", subject, got[subject])
		}
	}
	got = runCheck(t, env.settings(f.other, "")) // ou=other is empty
	if f := got["scope: people"]; f.Severity != directory.SeverityWarning || !strings.Contains(f.Message, "matches nothing") {
		t.Errorf("empty scope: %+v", f)
	}
	got = runCheck(t, env.settings("ou=missing,"+f.root, ""))
	if f := got["scope: groups"]; f.Severity != directory.SeverityError || !strings.Contains(f.Fix, "groups.base") {
		t.Errorf("missing base: %+v", f)
	}
}

func TestCheckReportsBindFailure(t *testing.T) {
	env := requireOpenLDAP(t)
	settings := strings.Replace(env.settings(env.base, ""), yamlQuote(env.bindPW), "not-the-password", 1)
	f := runCheck(t, settings)["bind"]
	if f.Severity != directory.SeverityError || !strings.Contains(f.Message, "bind refused") || strings.Contains(f.Message, "not-the-password") {
		t.Errorf("bind failure finding: %+v", f)
	}
}

// Polling (forced here; auto takes it on a server without syncprov) is a
// warning that names the delete gap and the fix.
func TestOpenLDAPCheckPolling(t *testing.T) {
	env := requireOpenLDAP(t)
	got := runCheck(t, env.settings(env.base, "changes: {method: poll, interval: 10s}"))
	f := got["change detection"]
	if f.Severity != directory.SeverityWarning || !strings.HasPrefix(f.Message, "entrycsn polling every 10s") ||
		!strings.Contains(f.Message, "cannot see deletes") || !strings.Contains(f.Fix, "syncprov") {
		t.Errorf("change detection: %+v", f)
	}
	got = runCheck(t, env.settings(env.base, "changes: {method: dirsync}"))
	if f := got["change detection"]; f.Severity != directory.SeverityError || !strings.Contains(f.Message, "does not apply") {
		t.Errorf("dirsync on OpenLDAP: %+v", f)
	}
}
