package scim

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/dirbridge/dirbridge/config"
)

// Config is the app's `settings:` section (see the package doc for an example).
type Config struct {
	BaseURL          string          `yaml:"baseURL"`
	Profile          string          `yaml:"profile"`
	Auth             AuthConfig      `yaml:"auth"`
	Timeout          string          `yaml:"timeout"`
	RateLimit        RateLimitConfig `yaml:"rateLimit"`
	Patch            string          `yaml:"patch"`
	Deactivate       string          `yaml:"deactivate"`
	SuspendAttribute string          `yaml:"suspendAttribute"`
	PageSize         int             `yaml:"pageSize"`
	LinkByEmail      bool            `yaml:"linkByEmail"`
	Groups           GroupsConfig    `yaml:"groups"`
}

// AuthConfig holds exactly one credential.
type AuthConfig struct {
	BearerToken config.Secret `yaml:"bearerToken"`
	OAuth2      *OAuth2Config `yaml:"oauth2"`
}

// OAuth2Config is the client credentials grant (RFC 6749 section 4.4).
type OAuth2Config struct {
	TokenURL     string        `yaml:"tokenURL"`
	ClientID     string        `yaml:"clientID"`
	ClientSecret config.Secret `yaml:"clientSecret"`
	Scopes       []string      `yaml:"scopes"`
}

// RateLimitConfig is the app's token bucket.
type RateLimitConfig struct {
	RequestsPerMinute float64 `yaml:"requestsPerMinute"`
	Burst             int     `yaml:"burst"`
}

// GroupsConfig controls group handling.
type GroupsConfig struct {
	Create      *bool `yaml:"create"`
	MemberChunk int   `yaml:"memberChunk"`
}

// settings is Config validated and resolved to the values the connector uses.
type settings struct {
	base         *url.URL
	profile      Profile
	timeout      time.Duration
	patch        string
	pageSize     int
	linkByEmail  bool
	createGroups bool
	auth         AuthConfig
	rateLimit    RateLimitConfig
}

const (
	defaultTimeout  = 30 * time.Second
	defaultPageSize = 100 // RFC 7644 section 3.4.2.4 leaves it to the server; 100 is common (and this test server's max)
)

// validate checks everything and reports every problem at once.
func (c Config) validate() (settings, error) {
	var errs []error
	s := settings{patch: c.Patch, pageSize: c.PageSize, linkByEmail: c.LinkByEmail,
		createGroups: c.Groups.Create == nil || *c.Groups.Create, auth: c.Auth, rateLimit: c.RateLimit}
	var err error
	if s.base, err = parseBaseURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if s.profile, err = LookupProfile(c.Profile); err != nil {
		errs = append(errs, fmt.Errorf("profile: %w", err))
	}
	errs = append(errs, c.applyOverrides(&s)...)
	errs = append(errs, c.Auth.validate()...)
	errs = append(errs, c.validateNumbers(&s)...)
	return s, errors.Join(errs...)
}

func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("baseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("baseURL %q: want an absolute http(s) URL", raw)
	}
	return u, nil
}

func (c Config) applyOverrides(s *settings) []error {
	var errs []error
	if c.Deactivate != "" {
		if m := DeactivateMode(c.Deactivate); m.valid() {
			s.profile.Deactivate = m
		} else {
			errs = append(errs, fmt.Errorf("deactivate %q: want patch-active, delete, none or delete-on-inactive", c.Deactivate))
		}
	}
	if c.SuspendAttribute != "" {
		s.profile.SuspendAttribute = c.SuspendAttribute
	}
	if c.Groups.MemberChunk != 0 {
		s.profile.MemberChunk = c.Groups.MemberChunk
	}
	switch s.patch {
	case "":
		s.patch = "auto"
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("patch %q: want auto, always or never", c.Patch))
	}
	return errs
}

func (c Config) validateNumbers(s *settings) []error {
	var errs []error
	s.timeout = defaultTimeout
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("timeout %q: want a positive duration such as 30s", c.Timeout))
		}
		s.timeout = d
	}
	if s.pageSize == 0 {
		s.pageSize = defaultPageSize
	}
	if s.pageSize < 0 || c.Groups.MemberChunk < 0 {
		errs = append(errs, errors.New("pageSize and groups.memberChunk must not be negative"))
	}
	if c.RateLimit.RequestsPerMinute < 0 || c.RateLimit.Burst < 0 {
		errs = append(errs, errors.New("rateLimit values must not be negative"))
	}
	return errs
}

func (a AuthConfig) validate() []error {
	switch {
	case a.BearerToken.IsZero() && a.OAuth2 == nil:
		return []error{errors.New("auth: give bearerToken or oauth2")}
	case !a.BearerToken.IsZero() && a.OAuth2 != nil:
		return []error{errors.New("auth: give bearerToken or oauth2, not both")}
	case a.OAuth2 == nil:
		return nil
	}
	var errs []error
	if _, err := url.Parse(a.OAuth2.TokenURL); err != nil || a.OAuth2.TokenURL == "" {
		errs = append(errs, errors.New("auth.oauth2.tokenURL is required (an absolute URL)"))
	}
	if a.OAuth2.ClientID == "" || a.OAuth2.ClientSecret.IsZero() {
		errs = append(errs, errors.New("auth.oauth2: clientID and clientSecret are required"))
	}
	return errs
}
