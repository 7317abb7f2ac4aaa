package ldap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/directory"
)

func init() {
	directory.Register("ldap", func(env directory.Env) (directory.Source, error) {
		var cfg Config
		if env.Decode != nil {
			if err := env.Decode(&cfg); err != nil {
				return nil, fmt.Errorf("directory/ldap: settings: %w", err)
			}
		}
		return New(cfg, env.BaseDir, env.Attributes, env.Logger)
	})
}

// Source reads an Active Directory domain or an LDAP suffix.
// It implements directory.Source and directory.Checker.
type Source struct {
	cfg   Config
	log   zerolog.Logger
	conn  *connector
	attrs []string // lower-case attributes the mapping needs; empty = all

	mu   sync.Mutex
	last ReadStats
}

// LastRead returns the counts of the most recent full read (complete or not).
func (s *Source) LastRead() ReadStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

var (
	_ directory.Source  = (*Source)(nil)
	_ directory.Checker = (*Source)(nil)
)

// New validates cfg (after defaults) and returns a source. It does not
// connect: the first FullRead or Check does.
func New(cfg Config, baseDir string, attrs []string, log zerolog.Logger) (*Source, error) {
	cfg.defaults(baseDir)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("directory/ldap: settings: %w", err)
	}
	log = log.With().Str("component", "directory/ldap").Logger()
	conn, err := newConnector(&cfg, log)
	if err != nil {
		return nil, err
	}
	lower := make([]string, 0, len(attrs))
	for _, a := range attrs {
		lower = append(lower, strings.ToLower(a))
	}
	return &Source{cfg: cfg, log: log, conn: conn, attrs: lower}, nil
}

// Cursor is what FullRead returns: the server's change watermark taken
// BEFORE the read started, so a change made during the read is seen again by
// the incremental method rather than lost (replaying it is harmless).
type Cursor struct {
	Version int    `json:"v"`
	Flavor  Flavor `json:"flavor"`
	Server  string `json:"server"`
	// AD: the DC's NTDS Settings DN (USNs are per DC) and its
	// highestCommittedUSN.
	DSServiceName string `json:"dsServiceName,omitempty"`
	USN           string `json:"usn,omitempty"`
	// OpenLDAP: the suffix's contextCSN values (one per server ID).
	ContextCSN []string `json:"contextCSN,omitempty"`
	// OpenLDAP: the syncrepl cookie of each search ("person", "group"),
	// once Watch has received one.
	SyncCookies map[string]string `json:"syncCookies,omitempty"`
}

// FullRead streams every person, then every group, page by page. A fresh
// connection per read lets a failed-over source return to the first URL.
func (s *Source) FullRead(ctx context.Context, h directory.Handler) ([]byte, error) {
	sess, err := s.conn.open(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	// Closing the connection is the only way to abort a request in flight.
	stop := context.AfterFunc(ctx, func() { sess.conn.Close() })
	defer stop()

	cur, err := s.cursor(sess)
	if err != nil {
		return nil, err
	}
	r := newReader(sess, s)
	err = r.readAll(ctx, h)
	if r.dns != nil {
		r.stats.MemberLookups = r.dns.lookups()
	}
	s.mu.Lock()
	s.last = r.stats
	s.mu.Unlock()
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	s.log.Info().Str("server", sess.server).Interface("stats", r.stats).Msg("full read complete")
	return json.Marshal(cur)
}

// Watch follows changes after cursor until ctx is canceled. OpenLDAP (and
// other servers with syncprov) is followed with RFC 4533 syncrepl; Active
// Directory returns ErrIncrementalNotImplemented until DirSync and
// uSNChanged polling land (issue 5). A cursor this source cannot continue
// (unreadable, another flavor) is directory.ErrFullReadRequired.
func (s *Source) Watch(ctx context.Context, cursor []byte, h directory.Handler) error {
	var cur Cursor
	if err := json.Unmarshal(cursor, &cur); err != nil || cur.Version != 1 {
		return fmt.Errorf("directory/ldap: cursor not usable (%v): %w", err, directory.ErrFullReadRequired)
	}
	sess, err := s.conn.open(ctx)
	if err != nil {
		return err
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.conn.Close() })
	defer stop()
	switch {
	case sess.flavor != cur.Flavor:
		return fmt.Errorf("directory/ldap: cursor is for %s, %s is %s: %w", cur.Flavor, sess.server, sess.flavor, directory.ErrFullReadRequired)
	case sess.flavor == FlavorAD:
		return ErrIncrementalNotImplemented
	case !sess.root.supports(oidSyncRequest):
		return fmt.Errorf("%w: %s does not offer syncrepl (no syncprov overlay); entryCSN polling is issue 5", ErrIncrementalNotImplemented, sess.server)
	}
	return s.watchOpenLDAP(ctx, sess, &cur, h)
}

// Describe says how the source reads, for logs and `dirbridge check`.
func (s *Source) Describe() string {
	return fmt.Sprintf("LDAP %s at %s (tls %s, %s bind); changes: syncrepl on OpenLDAP, full reads only on Active Directory (DirSync/uSNChanged not implemented yet)",
		s.cfg.Flavor, strings.Join(s.cfg.URLs, ", "), s.cfg.TLS.Mode, s.cfg.Bind.Method)
}

// Close releases nothing today: every read opens and closes its own session.
func (s *Source) Close() error { return nil }

func (s *Source) cursor(sess *session) (*Cursor, error) {
	c := &Cursor{Version: 1, Flavor: sess.flavor, Server: sess.server}
	if sess.flavor == FlavorAD {
		c.DSServiceName, c.USN = sess.root.dsServiceName, sess.root.highestCommittedUSN
		return c, nil
	}
	csn, err := readContextCSN(sess)
	if err != nil {
		return nil, opError{server: sess.server, bindDN: s.cfg.Bind.DN, op: "read contextCSN"}.classify(err)
	}
	c.ContextCSN = csn
	return c, nil
}

// fail explains why a read ended early; the handler's own error is returned
// unchanged, as directory.Handler promises.
func (r *reader) fail(ctx context.Context, err error) error {
	var he handlerError
	if errors.As(err, &he) {
		return he.err
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("%w after %d people and %d groups: %w", ErrIncompleteRead, r.stats.People, r.stats.Groups, err)
}

// handlerError marks an error that came from the consumer's handler.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }
