package salesforce

// The fake org: an httptest server that speaks the parts of the Salesforce
// REST API the connector uses, with the documented shapes: the OAuth token
// endpoint (JWT bearer and client credentials, OAuth error bodies), SOQL
// query with nextRecordsUrl paging, sObject Collections (POST, PATCH,
// DELETE with allOrNone=false and per-record SaveResults whose errors carry
// statusCode), /limits, error arrays [{"message","errorCode","fields"}]
// and the Sforce-Limit-Info header on every API answer.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
)

const (
	testClientID = "3MVG9testconsumerkey"
	testSubject  = "dirbridge@acme.example"
	testSecret   = "client-secret-value"
	apiPrefix    = "/services/data/v62.0"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

// rsaKey is one key for the whole test binary: generating RSA keys is slow.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func keyPEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// fault is a one-shot injected failure of a whole call.
type fault struct {
	method, path string // path prefix after /services/data/v62.0
	status       int
	body         string
	header       http.Header
}

// recordFault is a one-shot injected failure of one collection record.
type recordFault struct {
	sobject string
	match   func(rec map[string]any) bool
	code    string
	message string
}

type fakeOrg struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PublicKey

	mu           sync.Mutex
	tokens       map[string]bool
	tokenCalls   int
	apiCalls     int
	apiMax       int
	pageSize     int
	nextID       int
	tables       map[string][]map[string]any
	cursors      map[string][]map[string]any
	licences     int                         // Salesforce user licences for active users
	otherOrgs    map[string]bool             // usernames taken in other orgs
	blocked      map[string]restError        // user id -> why deactivation is refused
	faults       []fault                     // whole-call failures
	recordFaults []recordFault               // per-record failures
	calls        []string                    // "METHOD object" in order, for order assertions
	afterCall    func(method, object string) // runs after each API call, under no lock
}

func newFakeOrg(t *testing.T) *fakeOrg {
	t.Helper()
	o := &fakeOrg{t: t, key: &rsaKey(t).PublicKey, tokens: map[string]bool{}, apiMax: 15000,
		pageSize: 2000, tables: map[string][]map[string]any{}, cursors: map[string][]map[string]any{},
		licences: 100, otherOrgs: map[string]bool{}, blocked: map[string]restError{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", o.handleToken)
	mux.HandleFunc(apiPrefix+"/", o.handleAPI)
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	o.seed()
	return o
}

// seed creates the org's catalogue: profiles, permission sets (one needing
// a permission set licence), a permission set group.
func (o *fakeOrg) seed() {
	for typ := range idPrefixes {
		o.tables[typ] = nil // known to queries, empty
	}
	o.insert("Profile", map[string]any{"Name": "Standard User"})
	o.insert("Profile", map[string]any{"Name": "System Administrator"})
	psl := o.insert("PermissionSetLicense", map[string]any{"DeveloperName": "SalesConsoleUser", "TotalLicenses": 1.0})
	o.insert("PermissionSet", map[string]any{"Name": "Sales_Cloud_User", "LicenseId": "100000000000001AAA", "IsOwnedByProfile": false})
	o.insert("PermissionSet", map[string]any{"Name": "Sales_Console", "LicenseId": psl, "IsOwnedByProfile": false})
	o.insert("PermissionSet", map[string]any{"Name": "X00e000000000001", "IsOwnedByProfile": true})
	o.insert("PermissionSetGroup", map[string]any{"DeveloperName": "Sales_Bundle"})
}

// connector returns a connector configured for the JWT flow against o.
func (o *fakeOrg) connector(t *testing.T, edit ...func(*Config)) *Connector {
	t.Helper()
	return connectorFor(t, o.srv.URL, edit...)
}

// connectorFor returns a connector configured for the JWT flow against the
// server at loginURL.
func connectorFor(t *testing.T, loginURL string, edit ...func(*Config)) *Connector {
	t.Helper()
	cfg := Config{LoginURL: loginURL, APIVersion: "v62.0", Auth: AuthConfig{Flow: FlowJWT,
		ClientID: testClientID, Username: testSubject, PrivateKey: config.NewSecret(keyPEM(rsaKey(t)))}}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (o *fakeOrg) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if msg := o.checkAssertion(r.PostForm.Get("assertion")); msg != "" {
			oauthError(w, "invalid_grant", msg)
			return
		}
	case "client_credentials":
		if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testSecret {
			oauthError(w, "invalid_client", "invalid client credentials")
			return
		}
	default:
		oauthError(w, "unsupported_grant_type", "grant type not supported")
		return
	}
	o.mu.Lock()
	o.tokenCalls++
	tok := fmt.Sprintf("00Dfake!token%d", o.tokenCalls)
	o.tokens[tok] = true
	o.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": tok, "scope": "api",
		"instance_url": o.srv.URL, "id": o.srv.URL + "/id/00D000000000001AAA/005000000000001AAA", "token_type": "Bearer"})
}

// checkAssertion validates the JWT as Salesforce does: RS256 signed by the
// app's certificate, iss the consumer key, sub the user, aud
// https://login.salesforce.com (the fake is a production org reached through
// its My Domain), exp in the future and at most 3 minutes away.
func (o *fakeOrg) checkAssertion(assertion string) string {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(assertion, &claims, func(*jwt.Token) (any, error) { return o.key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithAudience("https://login.salesforce.com"),
		jwt.WithIssuer(testClientID), jwt.WithSubject(testSubject))
	switch {
	case err != nil:
		return "invalid assertion: " + err.Error()
	case !slices.Equal(claims.Audience, jwt.ClaimStrings{"https://login.salesforce.com"}):
		return "audience is invalid"
	case time.Until(claims.ExpiresAt.Time) > 3*time.Minute+5*time.Second:
		return "expiration time is too far in the future"
	}
	return ""
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func restErrors(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []restError{{Message: msg, ErrorCode: code, Fields: []string{}}})
}

// expireSessions revokes every access token, as a session timeout does.
func (o *fakeOrg) expireSessions() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens = map[string]bool{}
}

func (o *fakeOrg) failNext(method, path string, status int, body string, h http.Header) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.faults = append(o.faults, fault{method: method, path: path, status: status, body: body, header: h})
}

func (o *fakeOrg) failRecord(sobject, code, message string, match func(map[string]any) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recordFaults = append(o.recordFaults, recordFault{sobject: sobject, match: match, code: code, message: message})
}

func (o *fakeOrg) handleAPI(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	o.mu.Lock()
	valid := o.tokens[tok]
	if valid {
		o.apiCalls++
	}
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", o.apiCalls, o.apiMax))
	f, faulted := o.takeFault(r)
	o.mu.Unlock()
	switch {
	case !valid:
		restErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
	case faulted:
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(f.status)
		w.Write([]byte(f.body))
	default:
		o.route(w, r)
	}
}

func (o *fakeOrg) takeFault(r *http.Request) (fault, bool) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	for i, f := range o.faults {
		if f.method == r.Method && strings.HasPrefix(path, f.path) {
			o.faults = append(o.faults[:i], o.faults[i+1:]...)
			return f, true
		}
	}
	return fault{}, false
}

func (o *fakeOrg) route(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	object := ""
	switch {
	case path == "/query/" || path == "/query":
		object = o.handleQuery(w, r.URL.Query().Get("q"))
	case strings.HasPrefix(path, "/query/"):
		object = "query-more"
		o.handleQueryMore(w, strings.TrimPrefix(path, "/query/"))
	case path == "/composite/sobjects":
		object = o.handleCollection(w, r)
	case path == "/limits/" || path == "/limits":
		object = "limits"
		o.mu.Lock()
		writeJSON(w, http.StatusOK, map[string]any{"DailyApiRequests": map[string]int{"Max": o.apiMax, "Remaining": o.apiMax - o.apiCalls}})
		o.mu.Unlock()
	default:
		restErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	o.mu.Lock()
	o.calls = append(o.calls, r.Method+" "+object)
	hook := o.afterCall
	o.mu.Unlock()
	if hook != nil {
		hook(r.Method, object)
	}
}

// callLog returns the calls made so far.
func (o *fakeOrg) callLog() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}
