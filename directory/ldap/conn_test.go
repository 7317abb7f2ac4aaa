package ldap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// adBind is a settings document for a bind-only test against the DC.
func adBind(env adEnv, url, tlsSection, dn, pw string) string {
	return fmt.Sprintf(`urls: [%s]
tls: %s
bind: {dn: %s, password: %s}
reconnect: {attempts: 1}
timeouts: {dial: 3s}
`, url, tlsSection, yamlQuote(dn), yamlQuote(pw))
}

// checkBind runs Check and returns the bind finding.
func checkBind(t *testing.T, settings string) directory.Finding {
	t.Helper()
	src := newSource(t, settings)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := src.Check(ctx)
	if len(f) == 0 || f[0].Subject != "bind" {
		t.Fatalf("check findings %+v: no bind finding first", f)
	}
	return f[0]
}

// openErr opens a session and returns the error (nil when bound).
func openErr(t *testing.T, settings string) error {
	t.Helper()
	src := newSource(t, settings)
	sess, err := src.conn.open(context.Background())
	if err == nil {
		sess.Close()
	}
	return err
}

func TestADBindLDAPSAndStartTLS(t *testing.T) {
	env := requireAD(t)
	cases := map[string]string{
		"ldaps":    adBind(env, env.ldapsURL, "{mode: ldaps, caFile: "+yamlQuote(env.ca)+"}", env.svcDN, env.svcPW),
		"starttls": adBind(env, env.ldapURL, "{mode: starttls, caFile: "+yamlQuote(env.ca)+"}", env.svcDN, env.svcPW),
	}
	for name, settings := range cases {
		t.Run(name, func(t *testing.T) {
			f := checkBind(t, settings)
			if f.Severity != directory.SeverityOK || !strings.Contains(f.Message, "(ad,") {
				t.Errorf("bind finding %+v", f)
			}
		})
	}
}

func TestADPlainSimpleBindRefused(t *testing.T) {
	env := requireAD(t)
	err := openErr(t, adBind(env, env.ldapURL, "{mode: none}\nallowPlain: true", env.svcDN, env.svcPW))
	if !errors.Is(err, ErrStrongAuthRequired) {
		t.Fatalf("plain bind: got %v, want ErrStrongAuthRequired", err)
	}
	for _, want := range []string{"requires LDAPS or StartTLS", "set tls.mode", env.ldapURL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestPlainRequiresAllowPlain(t *testing.T) {
	_, err := New(Config{URLs: []string{"ldap://127.0.0.1:1"}, TLS: TLS{Mode: TLSNone},
		Bind: Bind{DN: "cn=x"}}, "", nil, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "allowPlain") {
		t.Fatalf("tls.mode none without allowPlain: %v", err)
	}
}

func TestADWrongPassword(t *testing.T) {
	env := requireAD(t)
	const wrong = "Wrong-Passw0rd-Value"
	err := openErr(t, adBind(env, env.ldapsURL, "{caFile: "+yamlQuote(env.ca)+"}", env.svcDN, wrong))
	if !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: got %v, want ErrBadCredentials", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "data 52e") || !strings.Contains(msg, "wrong password") || !strings.Contains(msg, env.svcDN) {
		t.Errorf("error %q should decode 52e and name the bind DN", msg)
	}
	if strings.Contains(msg, wrong) {
		t.Errorf("error %q shows the password", msg)
	}
}

func TestADWrongCA(t *testing.T) {
	env := requireAD(t)
	otherCA := writeThrowawayCA(t)
	for _, mode := range []struct{ url, tls string }{
		{env.ldapsURL, "{mode: ldaps, caFile: " + yamlQuote(otherCA) + "}"},
		{env.ldapURL, "{mode: starttls, caFile: " + yamlQuote(otherCA) + "}"},
	} {
		err := openErr(t, adBind(env, mode.url, mode.tls, env.svcDN, env.svcPW))
		if !errors.Is(err, ErrTLSVerify) || !strings.Contains(err.Error(), otherCA) {
			t.Errorf("%s with a foreign CA: got %v, want ErrTLSVerify naming %s", mode.url, err, otherCA)
		}
	}
}

func TestADFailoverToSecondURL(t *testing.T) {
	env := requireAD(t)
	dead := "ldaps://127.0.0.1:1" // nothing listens on port 1: connection refused
	settings := adBind(env, dead+", "+env.ldapsURL, "{caFile: "+yamlQuote(env.ca)+"}", env.svcDN, env.svcPW)
	f := checkBind(t, settings)
	if f.Severity != directory.SeverityOK || !strings.Contains(f.Message, env.ldapsURL) {
		t.Fatalf("failover: %+v", f)
	}
	// Every URL dead: a clear unreachable error naming the server.
	err := openErr(t, adBind(env, dead, "{caFile: "+yamlQuote(env.ca)+"}", env.svcDN, env.svcPW))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("all URLs dead: %v", err)
	}
}

func TestADSubCodes(t *testing.T) {
	for diag, want := range map[string]string{
		"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563":            "wrong password",
		"AcceptSecurityContext error, data 533, v2580":                                                       "account disabled",
		"AcceptSecurityContext error, data 701, v2580":                                                       "account expired",
		"AcceptSecurityContext error, data 773, v2580":                                                       "password must be reset",
		"AcceptSecurityContext error, data 775, v2580":                                                       "account locked out",
		"AcceptSecurityContext error, data 532, v2580":                                                       "password expired",
		"AcceptSecurityContext error, data 525, v2580":                                                       "no such user",
		"AcceptSecurityContext error, data 530, v2580":                                                       "logon hours",
		"00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity checking": "requires LDAPS or StartTLS",
		"Invalid credentials": "wrong DN or password",
	} {
		if got := bindReason(diag); !strings.Contains(got, want) {
			t.Errorf("bindReason(%q) = %q, want it to say %q", diag, got, want)
		}
	}
}

// writeThrowawayCA writes a CA certificate that signed nothing.
func writeThrowawayCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not the directory's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifyResultCodes(t *testing.T) {
	oe := opError{server: "ldaps://dc1:636", bindDN: "svc@corp", op: "paged search"}
	cases := []struct {
		code uint16
		diag string
		want error
		says string
	}{
		{goldap.LDAPResultInsufficientAccessRights, "00002098: SecErr: DSID-03150F94", ErrInsufficientRights, "insufficient access rights"},
		{goldap.LDAPResultStrongAuthRequired, "00002028: LdapErr: DSID-0C090259", ErrStrongAuthRequired, "set tls.mode"},
		{goldap.LDAPResultInvalidCredentials, "AcceptSecurityContext error, data 775, v2580", ErrBadCredentials, "locked out"},
		{goldap.ErrorNetwork, "ldap: connection closed", ErrUnreachable, "lost during paged search"},
	}
	for _, c := range cases {
		err := oe.classify(goldap.NewError(c.code, errors.New(c.diag)))
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "ldaps://dc1:636") {
			t.Errorf("result %d: %v", c.code, err)
		}
	}
}

// TestReconnectBacksOff: every URL dead, two rounds with a pause between.
func TestReconnectBacksOff(t *testing.T) {
	src := newSource(t, "urls: [ldaps://127.0.0.1:1, ldaps://127.0.0.1:2]\nbind: {dn: x, password: y}\nreconnect: {attempts: 2, backoff: 50ms}\n")
	start := time.Now()
	_, err := src.conn.open(context.Background())
	if !errors.Is(err, ErrUnreachable) || strings.Count(err.Error(), "cannot connect") != 4 {
		t.Fatalf("want 2 rounds over 2 URLs, got %v", err)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("no backoff between rounds (%s)", time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.conn.open(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled during backoff: %v", err)
	}
}
