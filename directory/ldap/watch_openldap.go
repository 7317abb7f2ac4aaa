package ldap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// syncEvent is one message of one of the two syncrepl searches (people,
// groups), multiplexed so the handler is never called concurrently.
type syncEvent struct {
	kind     directory.Kind
	entry    *goldap.Entry
	controls []goldap.Control
	err      error // the search ended: its error, or errSyncEnded
}

var errSyncEnded = errors.New("the server ended the persistent search")

// watchOpenLDAP follows people and groups with RFC 4533 refreshAndPersist,
// one search per kind, each with its own cookie in the cursor. Entries come
// whole (Members authoritative); deletes and moves out of scope come as
// delete notices or refreshDeletes ID sets. When the server falls back to a
// present phase (its session log no longer covers the cookie, e.g. after a
// restart), deletes could only be derived from the full set of known IDs,
// which a source does not have: it returns directory.ErrFullReadRequired.
func (s *Source) watchOpenLDAP(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	look, closeLook, err := s.lookupSession(ctx, sess)
	if err != nil {
		return err
	}
	defer closeLook()
	events := make(chan syncEvent)
	for _, kind := range []directory.Kind{directory.KindPerson, directory.KindGroup} {
		go s.runSyncrepl(ctx, sess, kind, cur.cookie(kind), events)
	}
	r := newReader(look, s) // member DNs are resolved beside the streams
	for {
		var ev syncEvent
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev = <-events:
		}
		page, err := r.syncPage(ctx, ev, cur)
		if err != nil {
			return err
		}
		if page == nil {
			continue
		}
		if page.Cursor, err = json.Marshal(cur); err != nil {
			return err
		}
		if err := h(ctx, *page); err != nil {
			return handlerError{err}
		}
	}
}

func (s *Source) runSyncrepl(ctx context.Context, sess *session, kind directory.Kind, cookie []byte, out chan<- syncEvent) {
	r := newReader(sess, s)
	req := r.searchRequest(kind)
	resp := sess.conn.Syncrepl(ctx, req, 64, goldap.SyncRequestModeRefreshAndPersist, cookie, false)
	send := func(ev syncEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for resp.Next() {
		if !send(syncEvent{kind: kind, entry: resp.Entry(), controls: resp.Controls()}) {
			return
		}
	}
	err := resp.Err()
	if err == nil {
		err = errSyncEnded
	}
	send(syncEvent{kind: kind, err: err})
}

// syncPage turns one event into a page (nil when there is nothing to hand
// on) and advances the cursor's cookie for the event's kind.
func (r *reader) syncPage(ctx context.Context, ev syncEvent, cur *Cursor) (*directory.Page, error) {
	if ev.err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, opError{server: r.sess.server, op: "syncrepl of " + configKey(ev.kind)}.classify(ev.err)
	}
	if ev.entry != nil && ev.entry.DN != "" {
		return r.syncEntry(ctx, ev, cur)
	}
	return r.syncInfo(ctx, ev, cur)
}

func (r *reader) syncEntry(ctx context.Context, ev syncEvent, cur *Cursor) (*directory.Page, error) {
	st, ok := goldap.FindControl(ev.controls, goldap.ControlTypeSyncState).(*goldap.ControlSyncState)
	if !ok {
		return nil, fmt.Errorf("directory/ldap: %s: syncrepl entry %q without a sync state", r.sess.server, ev.entry.DN)
	}
	cur.setCookie(ev.kind, st.Cookie)
	switch st.State {
	case goldap.SyncStateAdd, goldap.SyncStateModify:
		r.dns = newDNResolver(r.sess, r.log) // no cache across events: renames would make it stale
		e, err := r.convert(ctx, ev.entry, ev.kind)
		if err != nil {
			return nil, err
		}
		return &directory.Page{Entries: []directory.Entry{e}}, nil
	case goldap.SyncStateDelete:
		ids, err := r.ownDeletes(ctx, ev.kind, []string{st.EntryUUID.String()})
		return deletesPage(ids), err
	default: // present: only sent in a present phase
		return nil, r.presentPhase()
	}
}

func (r *reader) syncInfo(ctx context.Context, ev syncEvent, cur *Cursor) (*directory.Page, error) {
	info, ok := goldap.FindControl(ev.controls, goldap.ControlTypeSyncInfo).(*goldap.ControlSyncInfo)
	if !ok {
		return nil, nil // e.g. a referral: nothing to apply
	}
	switch {
	case info.NewCookie != nil:
		cur.setCookie(ev.kind, info.NewCookie.Cookie)
	case info.RefreshDelete != nil:
		cur.setCookie(ev.kind, info.RefreshDelete.Cookie)
	case info.RefreshPresent != nil:
		return nil, r.presentPhase()
	case info.SyncIdSet != nil && !info.SyncIdSet.RefreshDeletes:
		return nil, r.presentPhase()
	case info.SyncIdSet != nil:
		cur.setCookie(ev.kind, info.SyncIdSet.Cookie)
		ids := make([]string, len(info.SyncIdSet.SyncUUIDs))
		for i, u := range info.SyncIdSet.SyncUUIDs {
			ids[i] = u.String()
		}
		ids, err := r.ownDeletes(ctx, ev.kind, ids)
		return deletesPage(ids), err
	}
	return &directory.Page{}, nil // a new cookie alone is worth committing
}

// deletesPage is nil when nothing is left to hand on (the cookie, already
// in the cursor, travels with the next page).
func deletesPage(ids []string) *directory.Page {
	if len(ids) == 0 {
		return nil
	}
	return &directory.Page{Deleted: ids}
}

// ownDeletes drops the deletions that a kind's search reports for entries
// of the other kind: slapd's session log answers a resumed search with a
// delete for every logged change to an entry that does not match the
// search's filter, so the people search "deletes" every group changed
// meanwhile. Passing those on would delete live groups (and people). An ID
// is kept unless an entry with it still matches the other kind's search.
func (r *reader) ownDeletes(ctx context.Context, kind directory.Kind, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return ids, nil
	}
	other := directory.KindGroup
	if kind == directory.KindGroup {
		other = directory.KindPerson
	}
	live := map[string]bool{}
	for start := 0; start < len(ids); start += 100 { // keeps each filter short
		if err := r.liveIDs(ctx, other, ids[start:min(start+100, len(ids))], live); err != nil {
			return nil, err
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return live[id] }), nil
}

func (r *reader) liveIDs(ctx context.Context, kind directory.Kind, ids []string, live map[string]bool) error {
	var f strings.Builder
	for _, id := range ids {
		f.WriteString("(entryUUID=" + goldap.EscapeFilter(id) + ")")
	}
	req := r.searchRequest(kind)
	req.Filter = "(&(|" + f.String() + ")" + r.filterOf(kind) + ")"
	req.Attributes = []string{"entryUUID"}
	return pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, e := range page {
			if id, err := canonicalUUID(e.GetAttributeValue("entryUUID")); err == nil {
				live[id] = true
			}
		}
		return nil
	})
}

func (r *reader) presentPhase() error {
	return fmt.Errorf("directory/ldap: %s answered the saved cookie with a present phase (its session log no longer covers it): %w",
		r.sess.server, directory.ErrFullReadRequired)
}

// cookie returns the syncrepl cookie for kind: the one saved by Watch, or,
// right after a full read, one built from the contextCSN taken before it.
// slapd ignores a cookie without "rid=" (and then resends every entry), so
// the built one carries rid 000 as a consumer's would.
func (c *Cursor) cookie(kind directory.Kind) []byte {
	if v := c.SyncCookies[string(kind)]; v != "" {
		return []byte(v)
	}
	if len(c.ContextCSN) == 0 {
		return nil
	}
	return []byte("rid=000,csn=" + strings.Join(c.ContextCSN, ";"))
}

func (c *Cursor) setCookie(kind directory.Kind, cookie []byte) {
	if len(cookie) == 0 {
		return
	}
	if c.SyncCookies == nil {
		c.SyncCookies = map[string]string{}
	}
	c.SyncCookies[string(kind)] = string(cookie)
}
