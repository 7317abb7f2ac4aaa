// Package salesforce provisions users of a Salesforce org over the REST API:
// User records keyed by FederationIdentifier or an External ID field, the
// freeze (UserLogin.IsFrozen) and deactivation (User.IsActive) lifecycle,
// permission sets, permission set groups and permission set licences. Work is
// sent through sObject Collections, so a batch of requests costs a handful of
// API calls whatever its size.
//
// Configuration, the app's `settings:` section (all keys shown):
//
//	apps:
//	  salesforce:
//	    connector: salesforce
//	    settings:
//	      loginURL: https://login.salesforce.com     # test.salesforce.com for sandboxes, or the My Domain URL
//	      instanceURL: https://acme.my.salesforce.com # My Domain; API calls go here whatever the token says
//	      apiVersion: v62.0                           # pinned: field behaviour changes between versions
//	      auth:
//	        flow: jwt                                 # jwt (default) or clientCredentials
//	        clientID: 3MVG9...                        # consumer key of the External Client App
//	        username: dirbridge@acme.example          # jwt only: the integration user
//	        privateKey: ${file:/etc/dirbridge/salesforce.key} # jwt only: PEM RSA key
//	        audience: https://login.salesforce.com    # jwt only: default login, or test for sandboxes
//	        clientSecret: ${env:SF_CLIENT_SECRET}     # clientCredentials only
//	      anchorField: FederationIdentifier           # or an External ID field such as Dirbridge_Id__c
//	      usernameSuffix: .uat                        # sandboxes: usernames are unique across all orgs
//	      defaults:                                   # used at create when the mapping gives no value
//	        TimeZoneSidKey: Europe/Paris
//	        LocaleSidKey: fr_FR
//	        EmailEncodingKey: UTF-8
//	        LanguageLocaleKey: en_US
//	      budgetReservePercent: 10                    # keep this share of the daily API budget for terminations
//	      budgetWait: 15m                             # how long Creates and Updates wait once the budget is low
//	      timeout: 30s                                # one HTTP exchange
package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/rs/zerolog"
)

func init() { connectors.Register("salesforce", newFromEnv) }

// Flows of the OAuth 2.0 token endpoint this connector speaks.
const (
	FlowJWT               = "jwt"
	FlowClientCredentials = "clientCredentials"
)

// Config is the app's `settings:` section.
type Config struct {
	LoginURL             string            `yaml:"loginURL"`
	InstanceURL          string            `yaml:"instanceURL"`
	APIVersion           string            `yaml:"apiVersion"`
	Auth                 AuthConfig        `yaml:"auth"`
	AnchorField          string            `yaml:"anchorField"`
	UsernameSuffix       string            `yaml:"usernameSuffix"`
	Defaults             map[string]string `yaml:"defaults"`
	BudgetReservePercent int               `yaml:"budgetReservePercent"`
	BudgetWait           time.Duration     `yaml:"budgetWait"`
	Timeout              time.Duration     `yaml:"timeout"`
}

// AuthConfig selects and parameterises the OAuth flow.
type AuthConfig struct {
	Flow         string        `yaml:"flow"`
	ClientID     string        `yaml:"clientID"`
	Username     string        `yaml:"username"`
	PrivateKey   config.Secret `yaml:"privateKey"`
	ClientSecret config.Secret `yaml:"clientSecret"`
	// Audience overrides the JWT's aud (an Experience Cloud site's URL).
	Audience string `yaml:"audience"`
}

// defaultUserFields are the User fields Salesforce requires at create that a
// mapping often leaves out; the org rejects a create without them
// (REQUIRED_FIELD_MISSING).
var defaultUserFields = map[string]string{
	"TimeZoneSidKey":    "GMT",
	"LocaleSidKey":      "en_US",
	"EmailEncodingKey":  "UTF-8",
	"LanguageLocaleKey": "en_US",
}

var (
	apiVersionRe = regexp.MustCompile(`^v[0-9]{2,3}\.0$`)
	fieldNameRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// setDefaults fills what the admin may leave out.
func (c *Config) setDefaults() {
	if c.APIVersion == "" {
		c.APIVersion = "v62.0"
	}
	if c.Auth.Flow == "" {
		c.Auth.Flow = FlowJWT
	}
	if c.AnchorField == "" {
		c.AnchorField = "FederationIdentifier"
	}
	if c.BudgetReservePercent == 0 {
		c.BudgetReservePercent = 10
	}
	if c.BudgetWait == 0 {
		c.BudgetWait = 15 * time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	merged := map[string]string{}
	for k, v := range defaultUserFields {
		merged[k] = v
	}
	for k, v := range c.Defaults {
		merged[k] = v
	}
	c.Defaults = merged
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, checkURL("loginURL", c.LoginURL, true))
	errs = append(errs, checkURL("instanceURL", c.InstanceURL, false))
	if !apiVersionRe.MatchString(c.APIVersion) {
		errs = append(errs, fmt.Errorf("apiVersion %q: want the form v62.0", c.APIVersion))
	}
	if !fieldNameRe.MatchString(c.AnchorField) {
		errs = append(errs, fmt.Errorf("anchorField %q is not a Salesforce field name", c.AnchorField))
	}
	if c.BudgetReservePercent < 0 || c.BudgetReservePercent > 90 {
		errs = append(errs, fmt.Errorf("budgetReservePercent %d: want 0 to 90", c.BudgetReservePercent))
	}
	errs = append(errs, c.Auth.validate(c.LoginURL)...)
	return errors.Join(errs...)
}

func (a *AuthConfig) validate(loginURL string) []error {
	var errs []error
	if a.ClientID == "" {
		errs = append(errs, errors.New("auth.clientID is required"))
	}
	switch a.Flow {
	case FlowJWT:
		if a.Username == "" {
			errs = append(errs, errors.New("auth.username is required for the jwt flow"))
		}
		if a.PrivateKey.IsZero() {
			errs = append(errs, errors.New("auth.privateKey is required for the jwt flow"))
		}
	case FlowClientCredentials:
		if a.ClientSecret.IsZero() {
			errs = append(errs, errors.New("auth.clientSecret is required for the clientCredentials flow"))
		}
		// Salesforce serves the client credentials flow on My Domain only.
		if strings.Contains(loginURL, "login.salesforce.com") || strings.Contains(loginURL, "test.salesforce.com") {
			errs = append(errs, errors.New("auth.flow clientCredentials: loginURL must be the org's My Domain URL"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth.flow %q: want %s or %s", a.Flow, FlowJWT, FlowClientCredentials))
	}
	return errs
}

// checkURL accepts https URLs, and plain http only on a loopback host (the
// fake org of the tests), so a token is never sent in the clear.
func checkURL(key, raw string, required bool) error {
	if raw == "" {
		if required {
			return fmt.Errorf("%s is required", key)
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%s %q: want scheme://host", key, raw)
	}
	if u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%s %q: https is required", key, raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Connector is the Salesforce connector. It implements connectors.Connector,
// Batcher, Lister and Prober.
type Connector struct {
	cfg    Config
	log    zerolog.Logger
	client *client

	mu       sync.Mutex
	profiles map[string]string      // profile name -> ProfileId
	grants   map[string]grantTarget // permission set or group API name -> target
	now      func() time.Time       // injectable clock for JWT expiry
}

// grantTarget is what a permission set API name resolves to.
type grantTarget struct {
	ID        string // PermissionSet or PermissionSetGroup id
	Group     bool   // a permission set group: assigned through PermissionSetGroupId
	LicenseID string // the PermissionSetLicense the set needs, "" if none
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Batcher   = (*Connector)(nil)
	_ connectors.Lister    = (*Connector)(nil)
	_ connectors.Prober    = (*Connector)(nil)
)

func newFromEnv(env connectors.Env) (connectors.Connector, error) {
	var cfg Config
	if env.Decode == nil {
		return nil, errors.New("salesforce: no settings")
	}
	if err := env.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("salesforce: settings: %w", err)
	}
	return New(cfg, env.Logger)
}

// New returns a connector for cfg after filling defaults and validating it.
func New(cfg Config, log zerolog.Logger) (*Connector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("salesforce: settings: %w", err)
	}
	log = log.With().Str("component", "salesforce").Logger()
	c := &Connector{
		cfg:      cfg,
		log:      log,
		profiles: map[string]string{},
		grants:   map[string]grantTarget{},
		now:      time.Now,
	}
	auth, err := newTokenSource(cfg, log, func() time.Time { return c.now() })
	if err != nil {
		return nil, fmt.Errorf("salesforce: %w", err)
	}
	c.client = newClient(cfg, auth, log)
	return c, nil
}

// APIUsage returns the org's API requests used and allowed in the rolling
// 24-hour window, from the last Sforce-Limit-Info header; max is 0 before
// the first call.
func (c *Connector) APIUsage() (used, max int) { return c.client.budget.usage() }

// Close releases idle connections.
func (c *Connector) Close() error {
	c.client.http.HTTPClient.CloseIdleConnections()
	c.client.auth.http.HTTPClient.CloseIdleConnections()
	return nil
}

// Probe checks the credentials, the API version and the anchor field
// without changing anything: it fetches a token, reads the org's limits and
// reads one user with the anchor field (a missing custom field, or one the
// integration user cannot see, fails with INVALID_FIELD).
func (c *Connector) Probe(ctx context.Context) error {
	if err := c.probeLimits(ctx); err != nil {
		return err
	}
	soql := "SELECT " + c.userFields() + " FROM User LIMIT 1"
	if err := c.client.query(ctx, soql, func(json.RawMessage) error { return nil }); err != nil {
		return fmt.Errorf("salesforce: probe: read users with %s: %w", c.cfg.AnchorField, err)
	}
	return nil
}

func (c *Connector) probeLimits(ctx context.Context) error {
	var limits map[string]struct {
		Max       int `json:"Max"`
		Remaining int `json:"Remaining"`
	}
	if err := c.client.do(ctx, "GET", "/limits/", nil, &limits); err != nil {
		return fmt.Errorf("salesforce: probe: %w", err)
	}
	if d, ok := limits["DailyApiRequests"]; ok {
		c.log.Info().Int("max", d.Max).Int("remaining", d.Remaining).Msg("daily API requests")
	}
	return nil
}
