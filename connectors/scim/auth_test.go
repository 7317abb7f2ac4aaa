package scim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func TestBearerToken(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			writeJSON(w, 401, `{"status":"401","detail":"bad token"}`)
			return
		}
		userOK(w, r)
	})
	c := f.connector(t, Config{Auth: AuthConfig{BearerToken: secret("s3cret-token")}})
	if _, err := c.Apply(testCtx(t), updateRequest()); err != nil {
		t.Fatal(err)
	}
}

// tokenEndpoint is an OAuth 2.0 token endpoint for the client credentials
// grant (RFC 6749 section 4.4) that counts the tokens it issues.
func tokenEndpoint(t *testing.T, secretOK string) (*httptest.Server, *atomic.Int64) {
	var issued atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("grant_type") != "client_credentials" || id != "dirbridge" || sec != secretOK ||
			r.PostForm.Get("scope") != "scim.write" {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"client secret was ` + sec + `"}`))
			return
		}
		issued.Add(1)
		_, _ = w.Write([]byte(`{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(ts.Close)
	return ts, &issued
}

func oauthConfig(tokenURL, sec string) Config {
	return Config{Auth: AuthConfig{OAuth2: &OAuth2Config{TokenURL: tokenURL, ClientID: "dirbridge",
		ClientSecret: secret(sec), Scopes: []string{"scim.write"}}}}
}

// One token serves many requests until it expires.
func TestOAuth2ClientCredentials(t *testing.T) {
	tokens, issued := tokenEndpoint(t, "client-secret-1")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			writeJSON(w, 401, `{"status":"401"}`)
			return
		}
		userOK(w, r)
	})
	c := f.connector(t, oauthConfig(tokens.URL, "client-secret-1"))
	for i := 0; i < 3; i++ {
		if _, err := c.Apply(testCtx(t), updateRequest()); err != nil {
			t.Fatal(err)
		}
	}
	if n := issued.Load(); n != 1 {
		t.Errorf("%d tokens fetched for 3 requests, want 1", n)
	}
}

// A refused client is the app's problem (Retryable, for the quarantine),
// asked once, and the message carries neither the secret nor the body.
func TestOAuth2RefusedClient(t *testing.T) {
	tokens, _ := tokenEndpoint(t, "the-right-secret")
	var tokenHits atomic.Int64
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenHits.Add(1)
		r.URL.Host, r.URL.Scheme, r.RequestURI = strings.TrimPrefix(tokens.URL, "http://"), "http", ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(counting.Close)
	f := newFake(t, userOK)
	c := f.connector(t, oauthConfig(counting.URL, "wrong-secret-xyz"))
	_, err := c.Apply(testCtx(t), updateRequest())
	if class, _ := connectors.ClassOf(err); class != connectors.Retryable || connectors.CodeOf(err) != "oauth2 invalid_client" {
		t.Fatalf("err = %v (code %q)", err, connectors.CodeOf(err))
	}
	if strings.Contains(err.Error(), "wrong-secret-xyz") {
		t.Errorf("the error shows the client secret: %v", err)
	}
	if n := tokenHits.Load(); n != 1 {
		t.Errorf("token endpoint asked %d times, want 1", n)
	}
	if f.hits.Load() != 0 {
		t.Error("a SCIM request was sent without a token")
	}
}
