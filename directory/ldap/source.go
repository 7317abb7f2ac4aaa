package ldap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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
	// Method is the change-detection method the cursor belongs to; a cursor
	// of another method cannot be continued.
	Method string `json:"method,omitempty"`
	// AD: the DC's invocationId; it changes when the DC is restored.
	InvocationID string `json:"invocationId,omitempty"`
	// AD DirSync: the cookie of each search ("person", "group").
	DirSync map[string][]byte `json:"dirSync,omitempty"`
	// Polling (method poll): the attribute polled (entrycsn or
	// modifytimestamp) and the highest value delivered.
	PollAttr string `json:"pollAttr,omitempty"`
	CSN      string `json:"csn,omitempty"`
	// Seen is when (Unix seconds) the cursor was last known valid; an AD
	// cursor older than the tombstone lifetime needs a full read.
	Seen int64 `json:"seen,omitempty"`
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

	cur, err := s.cursor(ctx, sess)
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

// Watch follows changes after cursor until ctx is canceled, with the
// method chooseMethod picks (changes.method): AD DirSync or uSNChanged
// polling, OpenLDAP syncrepl or entryCSN polling. A cursor this source
// cannot continue (unreadable, another flavor or method, another or
// restored DC, older than the tombstone lifetime) is
// directory.ErrFullReadRequired.
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
	if sess.flavor != cur.Flavor {
		return fmt.Errorf("directory/ldap: cursor is for %s, %s is %s: %w", cur.Flavor, sess.server, sess.flavor, directory.ErrFullReadRequired)
	}
	m, err := s.chooseMethod(sess)
	if err != nil {
		return err
	}
	if m.name != cur.cursorMethod() {
		return fmt.Errorf("directory/ldap: the cursor was taken for %s, changes now follow %s: %w", cur.cursorMethod(), m.name, directory.ErrFullReadRequired)
	}
	return watchEnded(ctx, s.watchWith(ctx, sess, &cur, m, h))
}

// watchEnded returns the handler's own error unchanged (as
// directory.Handler promises) and ctx's error when the watch was canceled:
// canceling closes the connection, so a request in flight fails with a
// network error that is not the cause.
func watchEnded(ctx context.Context, err error) error {
	var he handlerError
	switch {
	case errors.As(err, &he):
		return he.err
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

func (s *Source) watchWith(ctx context.Context, sess *session, cur *Cursor, m method, h directory.Handler) error {
	switch m.name {
	case MethodDirSync:
		return s.watchDirSync(ctx, sess, cur, m, h)
	case MethodUSN:
		return s.watchUSN(ctx, sess, cur, h)
	case MethodPoll:
		return s.watchPoll(ctx, sess, cur, h)
	}
	return s.watchOpenLDAP(ctx, sess, cur, h)
}

// cursorMethod is the cursor's method; cursors written before methods were
// recorded came from syncrepl (the only method then).
func (c *Cursor) cursorMethod() string {
	if c.Method == "" && c.Flavor == FlavorOpenLDAP {
		return MethodSyncrepl
	}
	return c.Method
}

// Describe says how the source reads, for logs and `dirbridge check`
// (which also reports the method chosen on the server and why).
func (s *Source) Describe() string {
	return fmt.Sprintf("LDAP %s at %s (tls %s, %s bind); changes: %s (auto: DirSync or uSNChanged polling on AD, syncrepl or entryCSN polling on OpenLDAP), every %s%s",
		s.cfg.Flavor, strings.Join(s.cfg.URLs, ", "), s.cfg.TLS.Mode, s.cfg.Bind.Method, s.cfg.Changes.Method, s.cfg.Changes.Interval, notifyNote(s.cfg.Changes.Notify))
}

func notifyNote(on bool) string {
	if on {
		return " or at once on an AD change notification"
	}
	return ""
}

// Close releases nothing today: every read opens and closes its own session.
func (s *Source) Close() error { return nil }

// cursor takes the watermark of the method Watch will use, before the read.
func (s *Source) cursor(ctx context.Context, sess *session) (*Cursor, error) {
	m, err := s.chooseMethod(sess)
	if err != nil {
		return nil, err
	}
	c := &Cursor{Version: 1, Flavor: sess.flavor, Server: sess.server, Method: m.name, Seen: time.Now().Unix()}
	if sess.flavor == FlavorAD {
		return c, s.adCursor(ctx, sess, c, m)
	}
	csn, err := readContextCSN(sess)
	if err != nil {
		return nil, opError{server: sess.server, bindDN: s.cfg.Bind.DN, op: "read contextCSN"}.classify(err)
	}
	c.ContextCSN = csn
	if m.name == MethodPoll {
		c.PollAttr, err = s.pollAttribute(sess)
		c.CSN = s.pollTop(c.PollAttr, csn)
	}
	return c, err
}

func (s *Source) adCursor(ctx context.Context, sess *session, c *Cursor, m method) error {
	dsa, inv, err := adWatermark(sess)
	if err != nil {
		return err
	}
	c.DSServiceName, c.InvocationID, c.USN = dsa, inv, sess.root.highestCommittedUSN
	if m.name == MethodDirSync {
		return s.primeDirSync(ctx, sess, c, m.dirSyncFlags)
	}
	return nil
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
