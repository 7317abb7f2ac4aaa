package ldap

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// maxChangePage bounds the entries of one Watch page: the agent applies a
// page in one store transaction, which must stay short.
const maxChangePage = 500

// defaultTombstoneLifetime is used when the forest does not set
// tombstoneLifetime: MS-ADTS 6.1.1.2.4.1.2 says 60 days then (forests
// created since Windows Server 2003 SP1 set 180).
const defaultTombstoneLifetime = 60 * 24 * time.Hour

// heartbeat is how often an idle Watch still hands over a page with a fresh
// cursor, so that Cursor.Seen proves the cursor is younger than the
// tombstone lifetime.
const heartbeat = time.Hour

// adWatermark reads what an AD cursor is bound to: the DC's NTDS Settings
// DN and its invocationId (MS-ADTS 6.1.1.2.2.1.2: USNs are per DC, and a
// DC restored from backup takes a new invocationId).
func adWatermark(sess *session) (dsService, invocationID string, err error) {
	e, err := searchBase(sess, sess.root.dsServiceName, "invocationId")
	if err != nil {
		return "", "", err
	}
	id, err := GUIDString(e.GetRawAttributeValue("invocationId"))
	if err != nil {
		return "", "", fmt.Errorf("directory/ldap: %s: invocationId of %q: %w", sess.server, sess.root.dsServiceName, err)
	}
	return sess.root.dsServiceName, id, nil
}

func searchBase(sess *session, dn string, attrs ...string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", attrs, nil)
	res, err := sess.conn.Search(req)
	if err != nil {
		return nil, opError{server: sess.server, op: "read " + dn}.classify(err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("directory/ldap: %s: %q not found", sess.server, dn)
	}
	return res.Entries[0], nil
}

// tombstoneLifetime reads the forest's tombstoneLifetime (days) from CN=Directory
// Service: a cursor older than it may have missed deletes whose tombstones
// were already garbage-collected.
func tombstoneLifetime(sess *session) time.Duration {
	e, err := searchBase(sess, "CN=Directory Service,CN=Windows NT,CN=Services,"+sess.root.configNC, "tombstoneLifetime")
	if err != nil {
		return defaultTombstoneLifetime
	}
	days, err := strconv.Atoi(e.GetAttributeValue("tombstoneLifetime"))
	if err != nil || days <= 0 {
		return defaultTombstoneLifetime
	}
	return time.Duration(days) * 24 * time.Hour
}

// continueAD says why an AD cursor cannot be continued on this DC, or nil.
func (s *Source) continueAD(sess *session, cur *Cursor) error {
	full := func(format string, a ...any) error {
		return fmt.Errorf("directory/ldap: %s: %s: %w", sess.server, fmt.Sprintf(format, a...), directory.ErrFullReadRequired)
	}
	dsa, inv, err := adWatermark(sess)
	if err != nil {
		return err
	}
	switch {
	case !strings.EqualFold(dsa, cur.DSServiceName):
		return full("the cursor is from another domain controller (%s, now %s): USNs and DirSync state are per DC", cur.DSServiceName, dsa)
	case inv != cur.InvocationID:
		return full("the domain controller's invocationId changed (%s, now %s): it was restored from a backup", cur.InvocationID, inv)
	case cur.USN != "" && parseUSN(sess.root.highestCommittedUSN) < parseUSN(cur.USN):
		return full("highestCommittedUSN %s is below the cursor's %s: the domain controller was rolled back", sess.root.highestCommittedUSN, cur.USN)
	}
	if tsl := tombstoneLifetime(sess); cur.Seen > 0 && time.Since(time.Unix(cur.Seen, 0)) > tsl {
		return full("the cursor is from %s, older than the tombstone lifetime (%s): deletes may be gone", time.Unix(cur.Seen, 0).UTC().Format(time.RFC3339), tsl)
	}
	return nil
}

func parseUSN(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// waker returns a channel that receives when the poller should run again
// before its interval: with changes.notify, each change-notification entry
// (1.2.840.113556.1.4.528) of the naming context. AD sends the object that
// changed, not the change, so it only wakes the poller; the poll reads.
func (s *Source) waker(ctx context.Context, sess *session) <-chan struct{} {
	if !s.cfg.Changes.Notify {
		return nil
	}
	wake := make(chan struct{}, 1)
	req := goldap.NewSearchRequest(sess.root.defaultNC, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, []goldap.Control{goldap.NewControlMicrosoftNotification()})
	res := sess.conn.SearchAsync(ctx, req, 16)
	go func() {
		for res.Next() {
			select {
			case wake <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
		if err := res.Err(); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Str("server", sess.server).Msg("change notification ended; polling at the interval only")
		}
	}()
	return wake
}

// sleepOrWake waits for the poll interval, a notification, or ctx.
func (s *Source) sleepOrWake(ctx context.Context, wake <-chan struct{}) error {
	t := time.NewTimer(s.cfg.Changes.Interval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-wake:
	}
	return nil
}

func timeSince(unix int64) time.Duration { return time.Since(time.Unix(unix, 0)) }

// deliver marks the cursor as seen now and hands p to h with it.
func deliver(ctx context.Context, h directory.Handler, cur *Cursor, p directory.Page) error {
	cur.Seen = time.Now().Unix()
	b, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	p.Cursor = b
	if err := h(ctx, p); err != nil {
		return handlerError{err}
	}
	return nil
}

// underBase reports whether dn is base or below it.
func underBase(dn, base string) bool {
	n, b := directory.NormalizeDN(dn), directory.NormalizeDN(base)
	return n == b || strings.HasSuffix(n, ","+b)
}

// inScope is the configured base of kind (people.base, groups.base).
func (r *reader) inScope(kind directory.Kind, dn string) bool {
	base := r.cfg.People.Base
	if kind == directory.KindGroup {
		base = r.cfg.Groups.Base
	}
	if base == "" {
		base = r.sess.baseDN
	}
	return underBase(dn, base)
}

// lookupSession opens a second session to the same server for the reads a
// streamed search needs while it runs (whole entries, primary groups,
// member DNs, ranged members). On the streaming connection they would
// deadlock: go-ldap's reader blocks delivering the stream's next result
// to a full buffer, so the lookup's answer is never read.
func (s *Source) lookupSession(ctx context.Context, sess *session) (*session, func(), error) {
	look, err := s.conn.openOne(ctx, sess.server)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { look.conn.Close() })
	return look, func() { stop(); look.Close() }, nil
}
