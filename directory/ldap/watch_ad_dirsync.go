package ldap

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

var followedKinds = []directory.Kind{directory.KindPerson, directory.KindGroup}

// watchDirSync follows people and groups with DirSync (MS-ADTS 3.1.1.3.4.1.3)
// rooted at the naming context, one DirSync search per kind, each with its
// own cookie in the cursor. A round is streamed: its entries are handed on
// in pages of at most maxChangePage, each carrying the cookie from before
// the round (replaying a round from it is harmless: it returns the same
// objects' current values), and the round's new cookie comes with its last
// page. DirSync is polled: each interval (or at once on a change
// notification with changes.notify) runs rounds until the DC has no more.
func (s *Source) watchDirSync(ctx context.Context, sess *session, cur *Cursor, m method, h directory.Handler) error {
	if err := s.continueAD(sess, cur); err != nil {
		return err
	}
	for _, kind := range followedKinds {
		if len(cur.DirSync[string(kind)]) == 0 {
			return fmt.Errorf("directory/ldap: the cursor has no DirSync cookie for %s: %w", configKey(kind), directory.ErrFullReadRequired)
		}
	}
	look, closeLook, err := s.lookupSession(ctx, sess)
	if err != nil {
		return err
	}
	defer closeLook()
	wake := s.waker(ctx, sess)
	for {
		for _, kind := range followedKinds {
			if err := s.dirSyncKind(ctx, sess, look, cur, m.dirSyncFlags, kind, h); err != nil {
				return err
			}
		}
		if err := s.sleepOrWake(ctx, wake); err != nil {
			return err
		}
	}
}

// dirSyncKind runs rounds for one kind on sess until the DC says it has no
// more data, handing every change to h; look serves the reads in between.
func (s *Source) dirSyncKind(ctx context.Context, sess, look *session, cur *Cursor, flags int64, kind directory.Kind, h directory.Handler) error {
	r := newReader(look, s)
	for {
		var page directory.Page
		emit := func(raw *goldap.Entry) error {
			if err := r.addDirSyncEntry(ctx, raw, kind, &page); err != nil {
				return err
			}
			if len(page.Entries)+len(page.Deleted) < maxChangePage {
				return nil
			}
			err := deliver(ctx, h, cur, page)
			page = directory.Page{}
			return err
		}
		old := cur.DirSync[string(kind)]
		cookie, more, err := r.dirSyncRound(ctx, sess, old, flags, kind, emit)
		if err != nil {
			return err
		}
		cur.setDirSync(kind, cookie)
		if len(page.Entries)+len(page.Deleted) > 0 || !bytes.Equal(cookie, old) || timeSince(cur.Seen) > heartbeat {
			if err := deliver(ctx, h, cur, page); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// dirSyncRound runs one DirSync search from cookie on stream and streams
// its entries to emit; it returns the new cookie and whether the DC has
// more data.
func (r *reader) dirSyncRound(ctx context.Context, stream *session, cookie []byte, flags int64, kind directory.Kind, emit func(*goldap.Entry) error) ([]byte, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the search if emit fails mid-round
	resp := stream.conn.DirSyncAsync(ctx, r.dirSyncRequest(kind), 64, flags, 0, cookie)
	var next []byte
	var more bool
	for resp.Next() {
		if e := resp.Entry(); e != nil && e.DN != "" {
			if err := emit(e); err != nil {
				return nil, false, err
			}
		}
		if c, ok := goldap.FindControl(resp.Controls(), goldap.ControlTypeDirSync).(*goldap.ControlDirSync); ok {
			next, more = c.Cookie, c.Flags != 0 // MS-ADTS: a non-zero flag means more data
		}
	}
	if ctx.Err() != nil { // canceled: go-ldap ends the stream without an error
		return nil, false, ctx.Err()
	}
	if err := resp.Err(); err != nil {
		return nil, false, opError{server: r.sess.server, op: "DirSync of " + configKey(kind)}.classify(err)
	}
	if next == nil {
		return nil, false, fmt.Errorf("directory/ldap: %s: DirSync of %s ended without a cookie", r.sess.server, configKey(kind))
	}
	return next, more, nil
}

// dirSyncRequest is the kind's search rooted at the naming context (moves
// out of the configured base must be seen), matching its tombstones too,
// and asking for "name": AD records a rename or a move in the metadata of
// "name", so DirSync returns it for both.
func (r *reader) dirSyncRequest(kind directory.Kind) *goldap.SearchRequest {
	req := r.searchRequest(kind)
	req.BaseDN = r.sess.root.defaultNC
	class := "user"
	if kind == directory.KindGroup {
		class = "group"
	}
	req.Filter = "(|" + r.filterOf(kind) + "(&(isDeleted=TRUE)(objectClass=" + class + ")))"
	attrs := append([]string{"name", "isDeleted"}, req.Attributes...)
	if kind == directory.KindGroup { // incremental values come only for the plain attribute
		attrs = append(attrs, "member")
		for i, a := range attrs {
			if strings.HasPrefix(a, "member;range=") {
				attrs[i] = "member"
			}
		}
	}
	req.Attributes = attrs
	return req
}

// addDirSyncEntry adds one DirSync result to p: a tombstone or an entry
// that left the configured base as a deletion; a new, renamed or moved
// entry read whole (the agent may not hold it yet, e.g. moved into scope);
// any other as a partial entry with membership deltas.
func (r *reader) addDirSyncEntry(ctx context.Context, raw *goldap.Entry, kind directory.Kind, p *directory.Page) error {
	id, err := GUIDString(raw.GetRawAttributeValue("objectGUID"))
	if err != nil {
		return fmt.Errorf("directory/ldap: DirSync entry %q: %w", raw.DN, err)
	}
	dn := stripExtendedDN(raw.DN)
	switch {
	case strings.EqualFold(raw.GetAttributeValue("isDeleted"), "TRUE") || !r.inScope(kind, dn):
		p.Deleted = append(p.Deleted, id)
		return nil
	case hasAttr(raw, "name"):
		e, ok, err := r.readWhole(ctx, id, kind)
		if ok {
			p.Entries = append(p.Entries, e)
		}
		return err
	}
	e, err := r.partialEntry(ctx, raw, kind)
	if err != nil || !changed(e) {
		return err
	}
	p.Entries = append(p.Entries, e)
	return nil
}

// changed is false for a DirSync entry that carries none of the requested
// attributes (only objectGUID): something the mapping does not read changed.
func changed(e directory.Entry) bool {
	return len(e.Attributes) > 1 || e.Members != nil || e.MembersDelta || e.PrimaryGroup != ""
}

// readWhole reads one entry by GUID (<GUID=...> base, MS-ADTS 3.1.1.3.1.2.4)
// as the full read would. ok is false when it was deleted since the round
// (or no longer matches the kind's filter): the next round reports that.
func (r *reader) readWhole(ctx context.Context, id string, kind directory.Kind) (e directory.Entry, ok bool, err error) {
	req := r.searchRequest(kind)
	req.BaseDN, req.Scope = "<GUID="+id+">", goldap.ScopeBaseObject
	res, err := r.sess.conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return e, false, nil
	}
	if err != nil {
		return e, false, opError{server: r.sess.server, op: "read " + req.BaseDN}.classify(err)
	}
	if len(res.Entries) != 1 {
		return e, false, nil
	}
	e, err = r.convert(ctx, res.Entries[0], kind)
	return e, err == nil, err
}

// partialEntry converts a DirSync entry that carries only what changed.
// Group members come as incremental values (DirSyncIncrementalValues):
// member;range=1-1 holds added values, member;range=0-0 removed ones; a
// plain member attribute (values written before linked-value replication)
// is the whole list.
func (r *reader) partialEntry(ctx context.Context, raw *goldap.Entry, kind directory.Kind) (directory.Entry, error) {
	rest := &goldap.Entry{DN: raw.DN}
	var added, removed, whole []string
	var hasWhole bool
	for _, a := range raw.Attributes {
		switch strings.ToLower(a.Name) {
		case "member;range=1-1":
			added = r.appendGUIDs(added, raw.DN, a.Values)
		case "member;range=0-0":
			removed = r.appendGUIDs(removed, raw.DN, a.Values)
		case "member":
			whole, hasWhole = r.appendGUIDs(nil, raw.DN, a.Values), true
		case "name", "instancetype":
		default:
			rest.Attributes = append(rest.Attributes, a)
		}
	}
	e, err := r.convert(ctx, rest, kind)
	if err != nil {
		return e, err
	}
	e.Partial, e.Members = true, nil
	switch {
	case hasWhole:
		e.Members = whole
	case len(added)+len(removed) > 0:
		e.MembersDelta, e.MembersAdded, e.MembersRemoved = true, added, removed
	}
	return e, nil
}

// primeDirSync takes the cookies a DirSync Watch starts from: one round per
// kind from no cookie, streamed and discarded (only the cookie is kept).
// FullRead runs it before reading, so a change made during the read is
// delivered again by Watch rather than lost.
func (s *Source) primeDirSync(ctx context.Context, sess *session, cur *Cursor, flags int64) error {
	r := newReader(sess, s)
	discard := func(*goldap.Entry) error { return nil }
	for _, kind := range followedKinds {
		var cookie []byte
		for more := true; more; {
			var err error
			if cookie, more, err = r.dirSyncRound(ctx, sess, cookie, flags, kind, discard); err != nil {
				return err
			}
		}
		cur.setDirSync(kind, cookie)
	}
	return nil
}

func (c *Cursor) setDirSync(kind directory.Kind, cookie []byte) {
	if c.DirSync == nil {
		c.DirSync = map[string][]byte{}
	}
	c.DirSync[string(kind)] = cookie
}

func hasAttr(e *goldap.Entry, name string) bool {
	return slices.ContainsFunc(e.Attributes, func(a *goldap.EntryAttribute) bool { return strings.EqualFold(a.Name, name) })
}
