// Package config loads dirbridge's agent configuration: one YAML file,
// strictly decoded (unknown keys and bad types reported with file:line:col,
// all at once), with secrets given as ${env:NAME} or ${file:/path}
// references.
//
// A complete example with every section:
//
//	state:
//	  path: /var/lib/dirbridge/state.db   # bbolt file, created 0600
//	  logRetention: 2160h                 # provisioning log and finished requests (90 days)
//	directory:
//	  type: ldap                          # ldap | ldif
//	  settings: { ... }                   # the source's own settings (see examples/)
//	mapping:
//	  files: [mapping.yaml]               # relative to this file; several are combined
//	apps:
//	  slack:
//	    connector: scim                   # scim | salesforce | mock
//	    settings: { ... }                 # the connector's own settings
//	    workers: 4                        # concurrent deliveries for this app
//	    maxAttempts: 10                   # retryable failures before a request is Failed
//	    approve: [Create]                 # operations that always wait for an approver
//	    guard: {maxCreates: 50}           # this app's own limits; the rest inherit
//	guard:
//	  maxDeactivations: 500               # per app in the window; beyond: held for approval
//	  maxDeactivationPercent: 20
//	  maxCreates: 1000
//	  maxIdentifierChanges: 100           # Updates that rewrite the userName
//	  window: 1h
//	sync:
//	  fullReadInterval: 24h               # full reconciliation as a safety net
//	  retryInterval: 30s                  # wait after a directory error
//	status:
//	  listen: 127.0.0.1:8470              # loopback unless you say otherwise
//	  tokenFile: /etc/dirbridge/status.token   # needed for retry/approve/deny/cancel
//	  # allowRemote: true                 # other interfaces: only with tlsCert and tlsKey
//	  # tlsCert: /etc/dirbridge/status.crt
//	  # tlsKey: /etc/dirbridge/status.key
//	  # hostnames: [dirbridge01.corp.example]
//	  users:                              # who may act, with which role; the log records the name
//	    - {name: helpdesk, role: operator, token: "${file:/etc/dirbridge/helpdesk.token}"}
//	    - {name: it-security, role: approver, token: "${env:DIRBRIDGE_APPROVER_TOKEN}"}
//	log:
//	  level: info                         # debug | info | warn | error
//	  format: json                        # json | console
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Config is the agent configuration.
type Config struct {
	State     State          `yaml:"state"`
	Directory Directory      `yaml:"directory"`
	Mapping   Mapping        `yaml:"mapping"`
	Apps      map[string]App `yaml:"apps"`
	Guard     Guard          `yaml:"guard"`
	Sync      Sync           `yaml:"sync"`
	Status    Status         `yaml:"status"`
	Log       Log            `yaml:"log"`

	// File is the path the config was loaded from; relative paths in it are
	// resolved against its directory.
	File string `yaml:"-"`
}

// State says where the agent keeps its state.
type State struct {
	Path         string        `yaml:"path"`
	LogRetention time.Duration `yaml:"logRetention"`
}

// Directory selects and configures the directory source.
type Directory struct {
	Type     string `yaml:"type"`
	Settings Node   `yaml:"settings"`
}

// Mapping lists the mapping files.
type Mapping struct {
	Files []string `yaml:"files"`
}

// App configures one target app.
type App struct {
	Connector   string   `yaml:"connector"`
	Settings    Node     `yaml:"settings"`
	Workers     int      `yaml:"workers"`
	MaxAttempts int      `yaml:"maxAttempts"`
	Approve     []string `yaml:"approve"`
	Disabled    bool     `yaml:"disabled"`
	// Guard overrides the global guard's limits for this app (an app whose
	// licences are expensive may hold Creates at a lower limit); zero
	// fields inherit.
	Guard Guard `yaml:"guard"`
}

// GuardFor returns the guard limits for app: the global ones with the app's
// overrides.
func (c *Config) GuardFor(app string) Guard {
	g, o := c.Guard, c.Apps[app].Guard
	for _, f := range []struct{ dst, src *int }{{&g.MaxDeactivations, &o.MaxDeactivations},
		{&g.MaxDeactivationPercent, &o.MaxDeactivationPercent}, {&g.MaxCreates, &o.MaxCreates},
		{&g.MaxIdentifierChanges, &o.MaxIdentifierChanges}} {
		if *f.src != 0 {
			*f.dst = *f.src
		}
	}
	if o.Window != 0 {
		g.Window = o.Window
	}
	return g
}

// Guard is the mass-change guard (docs/design.md section 4).
type Guard struct {
	MaxDeactivations       int           `yaml:"maxDeactivations"`
	MaxDeactivationPercent int           `yaml:"maxDeactivationPercent"`
	MaxCreates             int           `yaml:"maxCreates"`
	MaxIdentifierChanges   int           `yaml:"maxIdentifierChanges"`
	Window                 time.Duration `yaml:"window"`
}

// Sync schedules directory reads.
type Sync struct {
	FullReadInterval time.Duration `yaml:"fullReadInterval"`
	RetryInterval    time.Duration `yaml:"retryInterval"`
}

// Status configures the local status endpoint.
type Status struct {
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"tokenFile"`
	// AllowRemote must be set to listen on anything but loopback, and then
	// TLSCert and TLSKey are required: the page shows personal data.
	AllowRemote bool   `yaml:"allowRemote"`
	TLSCert     string `yaml:"tlsCert"`
	TLSKey      string `yaml:"tlsKey"`
	// Hostnames the endpoint answers to besides loopback names (the Host
	// header is checked against DNS rebinding).
	Hostnames []string `yaml:"hostnames"`
	// Users may act through the API, each with a role and a token; the log
	// records the user's name. (The tokenFile holder is an approver named
	// "token-file".)
	Users []StatusUser `yaml:"users"`
}

// StatusUser is one person or tool allowed to act through the status API.
type StatusUser struct {
	Name  string `yaml:"name"`
	Role  string `yaml:"role"` // operator (retry, cancel, complete, full read) | approver (also approve and deny)
	Token Secret `yaml:"token"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Load reads, decodes, defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes, defaults and validates config text named path.
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{File: path}
	if err := DecodeYAML(path, data, c); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if errs := c.validate(); len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// Resolve makes a path from the config absolute, relative to the file.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// AppNames returns the configured app names, sorted.
func (c *Config) AppNames() []string {
	names := make([]string, 0, len(c.Apps))
	for n := range c.Apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *Config) applyDefaults() {
	if c.State.Path == "" {
		c.State.Path = "state.db"
	}
	if c.State.LogRetention == 0 {
		c.State.LogRetention = 90 * 24 * time.Hour
	}
	for name, a := range c.Apps {
		if a.Workers == 0 {
			a.Workers = 4
		}
		if a.MaxAttempts == 0 {
			a.MaxAttempts = 10
		}
		c.Apps[name] = a
	}
	g := &c.Guard
	if g.MaxDeactivations == 0 {
		g.MaxDeactivations = 500 // in the spirit of Entra's accidental-deletion threshold
	}
	if g.MaxDeactivationPercent == 0 {
		g.MaxDeactivationPercent = 20 // Okta's default
	}
	if g.MaxCreates == 0 {
		g.MaxCreates = 1000
	}
	if g.MaxIdentifierChanges == 0 {
		g.MaxIdentifierChanges = 100
	}
	if g.Window == 0 {
		g.Window = time.Hour
	}
	if c.Sync.FullReadInterval == 0 {
		c.Sync.FullReadInterval = 24 * time.Hour
	}
	if c.Sync.RetryInterval == 0 {
		c.Sync.RetryInterval = 30 * time.Second
	}
	if c.Status.Listen == "" {
		c.Status.Listen = "127.0.0.1:8470"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
}

func (c *Config) validate() Errors {
	var errs Errors
	at := Position{File: c.File}
	bad := func(p Position, format string, args ...any) {
		errs = append(errs, Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Directory.Type == "" {
		bad(at, "directory.type is required (ldap or ldif)")
	}
	if len(c.Mapping.Files) == 0 {
		bad(at, "mapping.files lists no mapping file")
	}
	if len(c.Apps) == 0 {
		bad(at, "apps: no app is configured")
	}
	for _, name := range c.AppNames() {
		a := c.Apps[name]
		if a.Connector == "" {
			bad(a.Settings.Pos(), "apps.%s.connector is required", name)
		}
		if a.Workers < 0 || a.MaxAttempts < 0 {
			bad(a.Settings.Pos(), "apps.%s: workers and maxAttempts must be positive", name)
		}
	}
	if c.Guard.MaxDeactivationPercent < 0 || c.Guard.MaxDeactivationPercent > 100 {
		bad(at, "guard.maxDeactivationPercent must be between 0 and 100")
	}
	if err := checkListen(c.Status); err != nil {
		bad(at, "status.listen: %v", err)
	}
	names := map[string]bool{}
	for i, u := range c.Status.Users {
		switch {
		case u.Name == "" || names[u.Name]:
			bad(at, "status.users[%d]: a unique name is required", i)
		case u.Role != "operator" && u.Role != "approver":
			bad(at, "status.users[%d] (%s): role %q: want operator or approver", i, u.Name, u.Role)
		case len(u.Token.Reveal()) < 16:
			bad(at, "status.users[%d] (%s): the token must be at least 16 characters", i, u.Name)
		}
		names[u.Name] = true
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad(at, "log.format %q: want json or console", c.Log.Format)
	}
	return errs
}

// checkListen keeps the status endpoint on loopback unless allowRemote.
func checkListen(s Status) error {
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return nil
	}
	if !s.AllowRemote {
		return fmt.Errorf("%q is not a loopback address; set status.allowRemote: true (with tlsCert and tlsKey) to serve other interfaces (the status page shows personal data)", s.Listen)
	}
	if s.TLSCert == "" || s.TLSKey == "" {
		return fmt.Errorf("%q is not a loopback address: status.tlsCert and status.tlsKey are required to serve it", s.Listen)
	}
	return nil
}
