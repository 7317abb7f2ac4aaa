package ldap

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/config"
)

// Flavor says which kind of server the source talks to.
type Flavor string

const (
	FlavorAuto     Flavor = "auto"     // decided from the rootDSE at connect time
	FlavorAD       Flavor = "ad"       // Active Directory or a Samba AD DC
	FlavorOpenLDAP Flavor = "openldap" // OpenLDAP, 389-ds and other RFC 4512 servers
)

// TLS modes.
const (
	TLSLDAPS    = "ldaps"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// Bind methods.
const (
	BindSimple   = "simple"
	BindKerberos = "kerberos"
	BindSSPI     = "sspi" // Windows: the service's own identity (gMSA), no secret in the file
)

// Config is the `directory.settings` section of a source of type "ldap".
// The package documentation shows a complete example.
type Config struct {
	URLs []string `yaml:"urls"`
	TLS  TLS      `yaml:"tls"`
	// AllowPlain permits tls.mode none: binds and entries then cross the
	// network in clear text, which is only acceptable on loopback or in a lab.
	AllowPlain bool   `yaml:"allowPlain"`
	Bind       Bind   `yaml:"bind"`
	Flavor     Flavor `yaml:"flavor"`
	// BaseDN is the naming context read; empty takes the rootDSE's
	// defaultNamingContext (AD) or its only namingContexts value.
	BaseDN string `yaml:"baseDN"`
	People Search `yaml:"people"`
	Groups Groups `yaml:"groups"`
	// PageSize is the paged-results page size (AD's MaxPageSize is 1000).
	PageSize int      `yaml:"pageSize"`
	Timeouts Timeouts `yaml:"timeouts"`
	// Reconnect bounds how often a connection is retried (every URL in order
	// counts as one attempt) before the error is returned to the agent.
	Reconnect Reconnect `yaml:"reconnect"`
	// Changes says how Watch follows the directory after a full read.
	Changes Changes `yaml:"changes"`
}

// Change-detection methods (changes.method).
const (
	MethodAuto     = "auto"     // the best the server and the bind account allow
	MethodDirSync  = "dirsync"  // AD DirSync (1.2.840.113556.1.4.841)
	MethodUSN      = "usn"      // AD uSNChanged polling
	MethodSyncrepl = "syncrepl" // RFC 4533 refreshAndPersist (OpenLDAP syncprov)
	MethodPoll     = "poll"     // OpenLDAP entryCSN polling (deletes left to full reads)
)

// Changes configures incremental change detection.
type Changes struct {
	Method string `yaml:"method"` // auto (default) | dirsync | usn | syncrepl | poll
	// Interval is the polling period of dirsync, usn and poll (default 30s).
	// A change is seen within Interval (plus the search time), or at once
	// with Notify.
	Interval time.Duration `yaml:"interval"`
	// Notify (AD) keeps a change-notification search (1.2.840.113556.1.4.528)
	// open on the naming context, so a change wakes the poller at once
	// instead of waiting for the next interval.
	Notify bool `yaml:"notify"`
	// PollAttribute (method poll) is what is polled: entryCSN (OpenLDAP:
	// unique per change, microseconds), modifyTimestamp (any LDAP server,
	// 1-second granularity) or auto (entryCSN when the server has it).
	PollAttribute string `yaml:"pollAttribute"`
	// ClockLag (method poll, when the server keeps no contextCSN) is how
	// far the server's clock may lag the agent's: changes newer than now
	// minus ClockLag are left to the next poll, so that a change committed
	// late, or within the same second, is never behind the watermark.
	// Default 5s.
	ClockLag time.Duration `yaml:"clockLag"`
}

// Polled attributes (changes.pollAttribute).
const (
	PollEntryCSN        = "entrycsn"
	PollModifyTimestamp = "modifytimestamp"
)

// TLS configures transport security.
type TLS struct {
	Mode   string `yaml:"mode"`   // ldaps | starttls | none
	CAFile string `yaml:"caFile"` // PEM bundle; empty uses the system roots
	// ServerName overrides the name checked in the server certificate
	// (default: the host of each URL).
	ServerName string `yaml:"serverName"`
	// InsecureSkipVerify turns certificate verification off. For a lab only;
	// it is logged as a warning at every connect.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// Bind says how the source authenticates.
type Bind struct {
	Method   string        `yaml:"method"` // simple | kerberos | sspi (Windows)
	DN       string        `yaml:"dn"`     // simple: DN or user@domain (AD)
	Password config.Secret `yaml:"password"`
	// Kerberos (GSSAPI with a keytab; Linux and Windows alike, without SSPI).
	Keytab    string `yaml:"keytab"`
	Principal string `yaml:"principal"` // e.g. svc-dirbridge (no realm)
	Realm     string `yaml:"realm"`     // e.g. CORP.EXAMPLE
	Krb5Conf  string `yaml:"krb5Conf"`  // default /etc/krb5.conf
	// SPN of the LDAP service; default ldap/<host of the URL>. Set it when
	// URLs use IP addresses.
	SPN string `yaml:"spn"`
}

// Search is a base DN and filter for one kind of entry.
type Search struct {
	Base   string `yaml:"base"`   // default: baseDN
	Filter string `yaml:"filter"` // default depends on the flavor
}

// Groups adds how memberships are read.
type Groups struct {
	Search `yaml:",inline"`
	// MemberAttribute holds member DNs: member (default) or uniqueMember.
	MemberAttribute string `yaml:"memberAttribute"`
	// RangeSize (AD) asks for members in ranges of this many values
	// (member;range=0-N). 0 lets the server choose (Windows: 1500 values).
	RangeSize int `yaml:"rangeSize"`
}

// Timeouts bound every network step so a hung server cannot stall the agent.
type Timeouts struct {
	Dial    time.Duration `yaml:"dial"`    // TCP connect and TLS handshake, default 10s
	Request time.Duration `yaml:"request"` // one LDAP request (one page), default 2m
}

// Reconnect is the bounded retry of a failed connection.
type Reconnect struct {
	Attempts int           `yaml:"attempts"` // rounds over all URLs, default 3
	Backoff  time.Duration `yaml:"backoff"`  // first pause, doubled each round, default 2s
}

// defaults fills what the admin left out. baseDir resolves relative paths.
func (c *Config) defaults(baseDir string) {
	if c.TLS.Mode == "" {
		c.TLS.Mode = TLSLDAPS
		if len(c.URLs) > 0 && strings.HasPrefix(strings.ToLower(c.URLs[0]), "ldap://") {
			c.TLS.Mode = TLSStartTLS
		}
	}
	if c.Bind.Method == "" {
		c.Bind.Method = BindSimple
	}
	if c.Bind.Krb5Conf == "" {
		c.Bind.Krb5Conf = "/etc/krb5.conf"
	}
	if c.Flavor == "" {
		c.Flavor = FlavorAuto
	}
	if c.PageSize == 0 {
		c.PageSize = 500
	}
	if c.Groups.MemberAttribute == "" {
		c.Groups.MemberAttribute = "member"
	}
	c.Groups.MemberAttribute = strings.ToLower(c.Groups.MemberAttribute)
	c.Timeouts.defaults()
	c.Reconnect.defaults()
	if c.Changes.Method == "" {
		c.Changes.Method = MethodAuto
	}
	if c.Changes.Interval == 0 {
		c.Changes.Interval = 30 * time.Second
	}
	c.Changes.PollAttribute = strings.ToLower(c.Changes.PollAttribute)
	if c.Changes.PollAttribute == "" {
		c.Changes.PollAttribute = MethodAuto
	}
	if c.Changes.ClockLag == 0 {
		c.Changes.ClockLag = 5 * time.Second
	}
	c.TLS.CAFile = resolvePath(baseDir, c.TLS.CAFile)
	c.Bind.Keytab = resolvePath(baseDir, c.Bind.Keytab)
}

func (t *Timeouts) defaults() {
	if t.Dial == 0 {
		t.Dial = 10 * time.Second
	}
	if t.Request == 0 {
		t.Request = 2 * time.Minute
	}
}

func (r *Reconnect) defaults() {
	if r.Attempts == 0 {
		r.Attempts = 3
	}
	if r.Backoff == 0 {
		r.Backoff = 2 * time.Second
	}
}

func resolvePath(baseDir, p string) string {
	if p == "" || filepath.IsAbs(p) || baseDir == "" {
		return p
	}
	return filepath.Join(baseDir, p)
}

// Validate reports every problem at once, so an admin fixes the file in one
// pass instead of one error per restart.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.URLs) == 0 {
		add("urls: at least one server URL is required")
	}
	for i, u := range c.URLs {
		if err := c.validateURL(u); err != nil {
			add("urls[%d] %q: %w", i, u, err)
		}
	}
	errs = append(errs, c.validateTLS()...)
	errs = append(errs, c.validateBind()...)
	switch c.Flavor {
	case FlavorAuto, FlavorAD, FlavorOpenLDAP:
	default:
		add("flavor %q: want ad, openldap or auto", c.Flavor)
	}
	for _, f := range [][2]string{{"people.filter", c.People.Filter}, {"groups.filter", c.Groups.Filter}} {
		if _, err := goldap.CompileFilter(f[1]); f[1] != "" && err != nil {
			add("%s %q is not a valid LDAP filter: %w", f[0], f[1], err)
		}
	}
	if c.PageSize < 1 || c.PageSize > 100000 {
		add("pageSize %d: want 1..100000", c.PageSize)
	}
	if c.Groups.RangeSize < 0 {
		add("groups.rangeSize %d: want 0 (server default) or more", c.Groups.RangeSize)
	}
	switch c.Changes.Method {
	case MethodAuto, MethodDirSync, MethodUSN, MethodSyncrepl, MethodPoll:
	default:
		add("changes.method %q: want auto, dirsync, usn, syncrepl or poll", c.Changes.Method)
	}
	switch c.Changes.PollAttribute {
	case MethodAuto, PollEntryCSN, PollModifyTimestamp:
	default:
		add("changes.pollAttribute %q: want auto, entryCSN or modifyTimestamp", c.Changes.PollAttribute)
	}
	if c.Changes.Interval < 100*time.Millisecond {
		add("changes.interval %s: want 100ms or more", c.Changes.Interval)
	}
	if c.Reconnect.Attempts < 1 {
		add("reconnect.attempts %d: want 1 or more", c.Reconnect.Attempts)
	}
	return errors.Join(errs...)
}

func (c *Config) validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch strings.ToLower(u.Scheme) {
	case "ldaps":
		if c.TLS.Mode != TLSLDAPS {
			return fmt.Errorf("an ldaps:// URL needs tls.mode ldaps (it is %q)", c.TLS.Mode)
		}
	case "ldap":
		if c.TLS.Mode == TLSLDAPS {
			return errors.New("an ldap:// URL with tls.mode ldaps: use ldaps:// or set tls.mode starttls")
		}
	default:
		return fmt.Errorf("scheme %q: want ldap:// or ldaps://", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

func (c *Config) validateTLS() []error {
	var errs []error
	switch c.TLS.Mode {
	case TLSLDAPS, TLSStartTLS:
	case TLSNone:
		if !c.AllowPlain {
			errs = append(errs, errors.New("tls.mode none sends the bind password in clear text: set allowPlain: true to accept that (lab only)"))
		}
	default:
		errs = append(errs, fmt.Errorf("tls.mode %q: want ldaps, starttls or none", c.TLS.Mode))
	}
	return errs
}

func (c *Config) validateBind() []error {
	var errs []error
	b := c.Bind
	switch b.Method {
	case BindSimple:
		if b.DN == "" {
			errs = append(errs, errors.New("bind.dn is required for a simple bind"))
		}
		if b.Password.Reveal() == "" {
			errs = append(errs, errors.New("bind.password is required for a simple bind (use ${env:NAME} or ${file:/path})"))
		}
	case BindKerberos:
		for _, f := range [][2]string{{"bind.keytab", b.Keytab}, {"bind.principal", b.Principal}, {"bind.realm", b.Realm}} {
			if f[1] == "" {
				errs = append(errs, fmt.Errorf("%s is required for a kerberos bind", f[0]))
			}
		}
	case BindSSPI:
		if runtime.GOOS != "windows" {
			errs = append(errs, errors.New("bind.method sspi binds as the Windows service's own identity and works only on Windows; use kerberos with a keytab here"))
		}
	default:
		errs = append(errs, fmt.Errorf("bind.method %q: want simple, kerberos or sspi", b.Method))
	}
	return errs
}
