package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

// session is one bound connection and what the rootDSE said about the server.
type session struct {
	conn   *goldap.Conn
	server string // the URL it is connected to
	root   rootDSE
	flavor Flavor // resolved, never auto
	baseDN string // resolved
}

func (s *session) Close() error { return s.conn.Close() }

// connector opens bound sessions with failover and bounded retry.
type connector struct {
	cfg    *Config
	log    zerolog.Logger
	tlsCfg *tls.Config // nil for tls.mode none
}

func newConnector(cfg *Config, log zerolog.Logger) (*connector, error) {
	c := &connector{cfg: cfg, log: log}
	if cfg.TLS.Mode == TLSNone {
		return c, nil
	}
	tc, err := buildTLSConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	c.tlsCfg = tc
	return c, nil
}

func buildTLSConfig(t TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("directory/ldap: tls.caFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("directory/ldap: tls.caFile %s holds no PEM certificate", t.CAFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// open tries every URL in order, then again after a backoff, up to
// reconnect.attempts rounds. Errors an admin must fix (credentials, TLS
// verification, strong auth) end the attempts at once: retrying them only
// locks the service account out.
func (c *connector) open(ctx context.Context) (*session, error) {
	backoff := c.cfg.Reconnect.Backoff
	var errs []error
	for round := 0; round < c.cfg.Reconnect.Attempts; round++ {
		if round > 0 {
			c.log.Warn().Dur("backoff", backoff).Int("round", round+1).Msg("no directory server answered; retrying")
			if err := sleepCtx(ctx, backoff); err != nil {
				return nil, errors.Join(append(errs, err)...)
			}
			backoff *= 2
		}
		for _, u := range c.cfg.URLs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s, err := c.openOne(ctx, u)
			if err == nil {
				return s, nil
			}
			c.log.Warn().Err(err).Str("server", u).Msg("directory server failed; trying the next")
			errs = append(errs, err)
			if !errors.Is(err, ErrUnreachable) {
				return nil, err
			}
		}
	}
	return nil, errors.Join(errs...)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *connector) openOne(ctx context.Context, rawURL string) (*session, error) {
	conn, err := c.dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(c.cfg.Timeouts.Request)
	if err := c.bind(conn, rawURL); err != nil {
		conn.Close()
		return nil, err
	}
	s := &session{conn: conn, server: rawURL}
	if err := s.describe(c.cfg); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// dial connects and, for starttls, upgrades the connection.
func (c *connector) dial(ctx context.Context, rawURL string) (*goldap.Conn, error) {
	oe := opError{server: rawURL, op: "connect"}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("directory/ldap: server URL %q: %w", rawURL, err)
	}
	d := &net.Dialer{Timeout: c.cfg.Timeouts.Dial}
	opts := []goldap.DialOpt{goldap.DialWithDialer(d)}
	if strings.EqualFold(u.Scheme, "ldaps") {
		opts = append(opts, goldap.DialWithTLSConfig(c.hostTLS(u)))
	}
	conn, err := goldap.DialURL(rawURL, opts...)
	if err != nil {
		return nil, oe.classifyDial(err, c.cfg.TLS.CAFile)
	}
	if c.cfg.TLS.InsecureSkipVerify {
		c.log.Warn().Str("server", rawURL).Msg("tls.insecureSkipVerify is on: the server's identity is NOT checked")
	}
	if c.cfg.TLS.Mode == TLSStartTLS {
		if err := conn.StartTLS(c.hostTLS(u)); err != nil {
			conn.Close()
			oe.op = "StartTLS"
			return nil, oe.classifyDial(err, c.cfg.TLS.CAFile)
		}
	}
	return conn, nil
}

// hostTLS sets ServerName to the URL's host unless configured.
func (c *connector) hostTLS(u *url.URL) *tls.Config {
	tc := c.tlsCfg.Clone()
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	return tc
}

func (c *connector) bind(conn *goldap.Conn, rawURL string) error {
	b := c.cfg.Bind
	switch b.Method {
	case BindKerberos:
		return c.kerberosBind(conn, rawURL)
	case BindSSPI:
		return c.sspiBind(conn, rawURL)
	default:
		oe := opError{server: rawURL, bindDN: b.DN, op: "simple bind"}
		if _, err := conn.SimpleBind(goldap.NewSimpleBindRequest(b.DN, b.Password.Reveal(), nil)); err != nil {
			return oe.classify(err)
		}
		return nil
	}
}
