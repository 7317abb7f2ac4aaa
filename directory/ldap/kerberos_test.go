package ldap

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/internal/testenv"
)

func kerberosSettings(v map[string]string, url, tlsSection, keytab string) string {
	return fmt.Sprintf(`urls: [%s]
tls: %s
bind: {method: kerberos, principal: %s, realm: %s, keytab: %s, krb5Conf: %s, spn: %s}
reconnect: {attempts: 1}
`, url, tlsSection, yamlQuote(v["AD_SVC_PRINCIPAL"]), yamlQuote(v["AD_REALM"]), yamlQuote(keytab),
		yamlQuote(v["AD_KRB5_CONF"]), yamlQuote(v["AD_LDAP_SPN"]))
}

// TestADKerberosBindRefusedUnderStrictSamba: the shared DC keeps Samba's
// default "require strong auth = yes", which wants GSSAPI signing even
// inside TLS. The Kerberos exchange itself succeeds (keytab, KDC, SPN);
// the refusal must be explained in plain words.
func TestADKerberosBindRefusedUnderStrictSamba(t *testing.T) {
	env := requireAD(t)
	v := testenv.Require(t, "Samba AD (Kerberos)", "AD_SVC_PRINCIPAL", "AD_REALM", "AD_SVC_KEYTAB", "AD_KRB5_CONF", "AD_LDAP_SPN")
	if v2, _ := testenv.Lookup("AD_STRONG_AUTH"); v2 != "yes" {
		testenv.Unavailable(t, "the shared DC does not run with require strong auth = yes")
	}
	err := openErr(t, kerberosSettings(v, env.ldapsURL, "{caFile: "+yamlQuote(env.ca)+"}", v["AD_SVC_KEYTAB"]))
	if !errors.Is(err, ErrStrongAuthRequired) || !strings.Contains(err.Error(), "allow_sasl_over_tls") {
		t.Fatalf("kerberos bind on a strict Samba DC: %v", err)
	}
	err = openErr(t, kerberosSettings(v, env.ldapsURL, "{caFile: "+yamlQuote(env.ca)+"}", "/nonexistent/svc.keytab"))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/svc.keytab") || errors.Is(err, ErrUnreachable) {
		t.Errorf("missing keytab: %v", err)
	}
}

// TestADKerberosBind binds with the service account's keytab (GSSAPI via
// gokrb5) inside StartTLS and LDAPS on a private DC at 127.0.0.2 that
// accepts GSSAPI over TLS like a Windows DC, and runs check through it.
func TestADKerberosBind(t *testing.T) {
	v := startPrivateSamba(t, "krb", "127.0.0.2", "allow_sasl_over_tls")
	for name, s := range map[string]string{
		"starttls": kerberosSettings(v, v["AD_LDAP_URL"], "{mode: starttls, caFile: "+yamlQuote(v["AD_CA_CERT"])+"}", v["AD_SVC_KEYTAB"]),
		"ldaps":    kerberosSettings(v, v["AD_LDAPS_URL"], "{mode: ldaps, caFile: "+yamlQuote(v["AD_CA_CERT"])+"}", v["AD_SVC_KEYTAB"]),
	} {
		t.Run(name, func(t *testing.T) {
			got := runCheck(t, s)
			if f := got["bind"]; f.Severity != directory.SeverityOK || !strings.Contains(f.Message, "svc-dirbridge@DIRBRIDGE.TEST") {
				t.Fatalf("kerberos bind: %+v", f)
			}
			if f := got["change detection"]; !strings.Contains(f.Message, `DIRBRIDGE\svc-dirbridge`) {
				t.Errorf("check did not find the Kerberos-bound account: %+v", f)
			}
		})
	}
}

// startPrivateSamba starts a DC of its own with scripts/testenv/samba-ad.sh
// on another loopback address (Samba cannot move off port 389).
func startPrivateSamba(t *testing.T, name, ip, strongAuth string) map[string]string {
	t.Helper()
	testenv.RequireRoot(t, "a private Samba DC (scripts/testenv/samba-ad.sh)")
	dir := filepath.Join(os.TempDir(), "dirbridge-ldap-samba-"+name)
	cmd := exec.Command("bash", "../../scripts/testenv/samba-ad.sh", dir)
	cmd.Env = append(os.Environ(), "AD_IP="+ip, "AD_STRONG_AUTH="+strongAuth)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start Samba in %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command(filepath.Join(dir, "stop.sh"), "--purge").Run() })
	vars, err := readEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	return vars
}
