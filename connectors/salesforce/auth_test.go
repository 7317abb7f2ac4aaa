package salesforce

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
)

func TestJWTAssertionClaims(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	c.client.auth.now = func() time.Time { return now }
	signed, err := c.client.auth.assertion()
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(signed, &claims, func(*jwt.Token) (any, error) { return &rsaKey(t).PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != testClientID || claims.Subject != testSubject || len(claims.Audience) != 1 || claims.Audience[0] != "https://login.salesforce.com" {
		t.Fatalf("claims = %+v", claims)
	}
	if life := claims.ExpiresAt.Sub(now); life <= 0 || life > 3*time.Minute {
		t.Fatalf("assertion lives %v; Salesforce accepts at most 3 minutes", life)
	}
}

func TestJWTBearerTokenIsCached(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	mustApply(t, c, createReq(person("guid-2", "bob@acme.example")))
	if org.tokenCalls != 1 {
		t.Fatalf("%d token requests, want 1 cached token", org.tokenCalls)
	}
}

func TestClientCredentialsFlow(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t, func(cfg *Config) {
		cfg.Auth = AuthConfig{Flow: FlowClientCredentials, ClientID: testClientID, ClientSecret: config.NewSecret(testSecret)}
	})
	if err := c.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := org.connector(t, func(cfg *Config) {
		cfg.Auth = AuthConfig{Flow: FlowClientCredentials, ClientID: testClientID, ClientSecret: config.NewSecret("wrong")}
	})
	err := bad.Probe(context.Background())
	wantClass(t, err, connectors.Retryable, "invalid_client")
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error shows the secret: %v", err)
	}
}

func TestRefusedGrantIsReportedWithOAuthCode(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t, func(cfg *Config) { cfg.Auth.Username = "someone.else@acme.example" })
	_, err := c.Apply(context.Background(), createReq(person("guid-1", "ada@acme.example")))
	wantClass(t, err, connectors.Retryable, "invalid_grant")
}

func TestExpiredSessionRefreshesTokenOnce(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	org.expireSessions()
	mustApply(t, c, createReq(person("guid-2", "bob@acme.example")))
	if org.tokenCalls != 2 {
		t.Fatalf("%d token requests, want 2", org.tokenCalls)
	}
}

func TestSessionStillInvalidAfterRefreshIsRetryable(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	// Every token is revoked as soon as it is issued: the refresh happens
	// once, then the error goes to the outbox instead of looping.
	body := `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`
	org.failNext("GET", "/limits", 401, body, nil)
	org.failNext("GET", "/limits", 401, body, nil)
	err := c.Probe(context.Background())
	wantClass(t, err, connectors.Retryable, "INVALID_SESSION_ID")
	if org.tokenCalls != 2 {
		t.Fatalf("%d token requests, want 2 (one refresh)", org.tokenCalls)
	}
}

func TestInstanceURLPinnedOverTokenAnswer(t *testing.T) {
	org := newFakeOrg(t)
	other := newFakeOrg(t) // the org API calls must go to
	c := org.connector(t, func(cfg *Config) { cfg.InstanceURL = other.srv.URL })
	tok, err := c.client.auth.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.instanceURL != other.srv.URL {
		t.Fatalf("instance = %s, want the pinned %s", tok.instanceURL, other.srv.URL)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{LoginURL: "http://login.salesforce.com", APIVersion: "62", AnchorField: "Bad Field",
		Auth: AuthConfig{Flow: FlowJWT}}
	_, err := New(cfg, zerolog.Nop())
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"loginURL", "https is required", "apiVersion", "anchorField", "auth.clientID",
		"auth.username", "auth.privateKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestConfigValidateClientCredentialsNeedsMyDomain(t *testing.T) {
	cfg := Config{LoginURL: "https://login.salesforce.com", Auth: AuthConfig{Flow: FlowClientCredentials,
		ClientID: "x", ClientSecret: config.NewSecret("y")}}
	_, err := New(cfg, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "My Domain") {
		t.Fatalf("err = %v", err)
	}
	cfg.LoginURL = "https://acme.my.salesforce.com"
	if _, err := New(cfg, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
}

func TestJWTAudience(t *testing.T) {
	cases := []struct{ loginURL, override, want string }{
		{"https://login.salesforce.com", "", "https://login.salesforce.com"},
		{"https://acme.my.salesforce.com", "", "https://login.salesforce.com"},
		{"https://test.salesforce.com", "", "https://test.salesforce.com"},
		{"https://acme--uat.sandbox.my.salesforce.com", "", "https://test.salesforce.com"},
		{"https://acme.my.site.com", "https://acme.my.site.com/customers/", "https://acme.my.site.com/customers"},
	}
	for _, tc := range cases {
		cfg := Config{LoginURL: tc.loginURL, Auth: AuthConfig{Audience: tc.override}}
		if got := audience(cfg); got != tc.want {
			t.Errorf("audience(%s, %q) = %s, want %s", tc.loginURL, tc.override, got, tc.want)
		}
	}
}

func TestUnreachableOrgIsRetryable(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	c.client.auth.http.RetryMax = 0 // the dial retry is covered by retryDialErrors; no waiting here
	org.srv.Close()
	err := c.Probe(context.Background())
	wantClass(t, err, connectors.Retryable, "")
}

func TestRetryOnlyWhenNothingReachedTheOrg(t *testing.T) {
	ctx := context.Background()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}
	if retry, _ := retryDialErrors(ctx, nil, dial); !retry {
		t.Error("a refused dial is not retried")
	}
	if retry, _ := retryDialErrors(ctx, nil, read); retry {
		t.Error("a reset after sending is retried: a Create could be posted twice")
	}
	if retry, _ := retryDialErrors(ctx, &http.Response{StatusCode: 503}, nil); retry {
		t.Error("a 503 is retried inside the connector; the outbox owns that")
	}
}

// TestLogsCarryNoSecrets runs a session with a refresh at debug level and
// looks for the key, the client secret and the access tokens in the log.
func TestLogsCarryNoSecrets(t *testing.T) {
	org := newFakeOrg(t)
	var buf bytes.Buffer
	cfg := Config{LoginURL: org.srv.URL, Auth: AuthConfig{Flow: FlowJWT, ClientID: testClientID, Username: testSubject,
		PrivateKey: config.NewSecret(keyPEM(rsaKey(t)))}}
	c, err := New(cfg, zerolog.New(&buf).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, c, createReq(person("guid-1", "ada@acme.example")))
	org.expireSessions()
	mustApply(t, c, createReq(person("guid-2", "bob@acme.example")))
	if buf.Len() == 0 {
		t.Fatal("nothing was logged at debug level")
	}
	for _, secret := range []string{"PRIVATE KEY", "00Dfake!token", "assertion", "Bearer"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, buf.String())
		}
	}
}

// TestPKCS8KeyAsOpenSSLWritesIt: `openssl req -newkey rsa:2048 -nodes`
// (OpenSSL 3, as in docs/salesforce.md) writes "BEGIN PRIVATE KEY" PKCS#8.
func TestPKCS8KeyAsOpenSSLWritesIt(t *testing.T) {
	org := newFakeOrg(t)
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	c := org.connector(t, func(cfg *Config) { cfg.Auth.PrivateKey = config.NewSecret(pkcs8) })
	if err := c.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{LoginURL: org.srv.URL, Auth: AuthConfig{ClientID: testClientID, Username: testSubject,
		PrivateKey: config.NewSecret("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "auth.privateKey") {
		t.Fatalf("a certificate given as the key: err = %v", err)
	}
}
