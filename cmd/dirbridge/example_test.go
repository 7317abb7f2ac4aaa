package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/directory"
)

// The shipped agent config must load, and its directory and SCIM sections
// must decode strictly through the real source and connector (the
// Salesforce section needs its key file; connectors/salesforce tests its own
// example).
func TestExampleAgentConfig(t *testing.T) {
	t.Setenv("DIRBRIDGE_LDAP_PASSWORD", "example")
	t.Setenv("SLACK_SCIM_TOKEN", "example")
	path := filepath.Join("..", "..", "examples", "agent.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The source reads its CA file when it is created: point it at a real one.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	edited := strings.ReplaceAll(string(text), "/etc/dirbridge/corp-ca.pem", ca)
	for _, tok := range []string{"helpdesk.token", "approver.token"} { // the status users' token files
		f := filepath.Join(t.TempDir(), tok)
		if err := os.WriteFile(f, []byte("a-token-of-twenty-chars\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		edited = strings.ReplaceAll(edited, "/etc/dirbridge/"+tok, f)
	}
	c, err := config.Parse(path, []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	src, err := directory.New(c.Directory.Type, directory.Env{Logger: zerolog.Nop(), Decode: c.Directory.Settings.Decode, BaseDir: t.TempDir()})
	if err != nil {
		t.Fatalf("directory section: %v", err)
	}
	src.Close()
	conn, err := connectors.New("scim", connectors.Env{App: "slack", Logger: zerolog.Nop(), StateDir: t.TempDir(), Decode: c.Apps["slack"].Settings.Decode})
	if err != nil {
		t.Fatalf("slack section: %v", err)
	}
	conn.Close()
	if c.Apps["salesforce"].Approve[0] != "Create" || c.Status.Listen != "127.0.0.1:8470" || len(c.Status.Users) != 2 {
		t.Fatalf("loaded %+v", c)
	}
}

func selfSignedPEM(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
