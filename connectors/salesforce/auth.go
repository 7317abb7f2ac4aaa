package salesforce

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

// jwtLifetime is the assertion's lifetime: Salesforce rejects a JWT bearer
// assertion whose exp is more than 3 minutes away.
const jwtLifetime = 3 * time.Minute

// jwtGrantType is the grant_type of the OAuth 2.0 JWT bearer flow (RFC 7523).
const jwtGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// token is an access token and the org it is valid for.
type token struct {
	access      string
	instanceURL string
}

// tokenSource fetches access tokens and caches one until the org says it
// is no longer valid (Salesforce does not state an expiry in the response;
// the session timeout is set in the org).
type tokenSource struct {
	cfg  Config
	key  *rsa.PrivateKey // jwt flow only
	now  func() time.Time
	log  zerolog.Logger
	http *retryablehttp.Client

	mu     sync.Mutex
	cached *token
}

func newTokenSource(cfg Config, log zerolog.Logger, now func() time.Time) (*tokenSource, error) {
	ts := &tokenSource{cfg: cfg, now: now, log: log, http: newHTTPClient(cfg)}
	if cfg.Auth.Flow != FlowJWT {
		return ts, nil
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(cfg.Auth.PrivateKey.Reveal()))
	if err != nil {
		// The parser's message never contains key material.
		return nil, fmt.Errorf("auth.privateKey %s: %w", cfg.Auth.PrivateKey, err)
	}
	ts.key = key
	return ts, nil
}

// get returns the cached token or fetches one.
func (ts *tokenSource) get(ctx context.Context) (*token, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cached != nil {
		return ts.cached, nil
	}
	t, err := ts.fetch(ctx)
	if err != nil {
		return nil, err
	}
	ts.cached = t
	return t, nil
}

// invalidate drops t from the cache if it is still the cached token, so
// concurrent callers that saw the same 401 fetch one new token, not many.
func (ts *tokenSource) invalidate(t *token) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cached == t {
		ts.cached = nil
	}
}

func (ts *tokenSource) fetch(ctx context.Context) (*token, error) {
	form, err := ts.form()
	if err != nil {
		return nil, err
	}
	endpoint := strings.TrimSuffix(ts.cfg.LoginURL, "/") + "/services/oauth2/token"
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, endpoint, []byte(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.http.Do(req)
	if err != nil {
		return nil, connectors.Errorf(connectors.Retryable, "", "token request: %w", err)
	}
	defer resp.Body.Close()
	return ts.decode(resp)
}

// form builds the token request body of the configured flow.
func (ts *tokenSource) form() (url.Values, error) {
	a := ts.cfg.Auth
	if a.Flow == FlowClientCredentials {
		return url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {a.ClientID},
			"client_secret": {a.ClientSecret.Reveal()},
		}, nil
	}
	assertion, err := ts.assertion()
	if err != nil {
		return nil, err
	}
	return url.Values{"grant_type": {jwtGrantType}, "assertion": {assertion}}, nil
}

// assertion signs the JWT the bearer flow posts: iss is the consumer key,
// sub the integration user, aud the authorization server (see audience).
func (ts *tokenSource) assertion() (string, error) {
	a := ts.cfg.Auth
	claims := jwt.RegisteredClaims{
		Issuer:    a.ClientID,
		Subject:   a.Username,
		Audience:  jwt.ClaimStrings{audience(ts.cfg)},
		ExpiresAt: jwt.NewNumericDate(ts.now().Add(jwtLifetime)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(ts.key)
	if err != nil {
		return "", fmt.Errorf("sign JWT assertion: %w", err)
	}
	return s, nil
}

// audience is the JWT's aud. Salesforce accepts https://login.salesforce.com
// or https://test.salesforce.com (an Experience Cloud site's URL for its
// users), also when the token is requested from a My Domain URL; anything
// else is refused with "audience is invalid". Sandboxes use test.
func audience(cfg Config) string {
	if cfg.Auth.Audience != "" {
		return strings.TrimSuffix(cfg.Auth.Audience, "/")
	}
	u, err := url.Parse(cfg.LoginURL)
	if err == nil && (u.Hostname() == "test.salesforce.com" || strings.HasSuffix(u.Hostname(), ".sandbox.my.salesforce.com")) {
		return "https://test.salesforce.com"
	}
	return "https://login.salesforce.com"
}

// tokenResponse is the token endpoint's answer, success or OAuth error.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	InstanceURL      string `json:"instance_url"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (ts *tokenSource) decode(resp *http.Response) (*token, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return nil, tokenError(resp.StatusCode, tr, jsonErr)
	}
	t := &token{access: tr.AccessToken, instanceURL: tr.InstanceURL}
	if ts.cfg.InstanceURL != "" {
		// Pinned: a token never redirects API calls to another host.
		t.instanceURL = ts.cfg.InstanceURL
	}
	if t.instanceURL == "" {
		return nil, connectors.Errorf(connectors.Retryable, "", "token response without instance_url and no instanceURL configured")
	}
	ts.log.Debug().Str("flow", ts.cfg.Auth.Flow).Str("instance", t.instanceURL).Msg("access token issued")
	return t, nil
}

// tokenError classifies a refused token request. invalid_grant and
// invalid_client are configuration problems (an unapproved app, a wrong
// certificate, a locked user): retryable, so the app is quarantined and
// resumes by itself once an admin fixes the org, instead of failing every
// person's request for good.
func tokenError(status int, tr tokenResponse, jsonErr error) error {
	class := connectors.Retryable
	if status == http.StatusTooManyRequests {
		class = connectors.RateLimited
	}
	if tr.Error == "" {
		return connectors.Errorf(class, fmt.Sprint(status), "token endpoint answered HTTP %d (body not an OAuth error: %v)", status, jsonErr)
	}
	return connectors.Errorf(class, tr.Error, "token endpoint: %s: %s", tr.Error, tr.ErrorDescription)
}
