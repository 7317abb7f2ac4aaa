package ldap

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// tombstoneFilter matches deleted people and groups. AD strips
// objectCategory from a tombstone but keeps objectClass (MS-ADTS
// 3.1.1.5.5.1.1), so the people filter cannot match it.
const tombstoneFilter = "(&(isDeleted=TRUE)(|(objectClass=user)(objectClass=group)))"

// watchUSN polls uSNChanged at the naming-context root (so moves out of the
// configured bases are seen), bounded above by rootDSE highestCommittedUSN
// read before each poll: every change with a USN at or below it is already
// committed, so the watermark can move to it without skipping anything.
// Tombstones are read with the Show Deleted control; an account that may
// not list CN=Deleted Objects sees none (Check reports it).
func (s *Source) watchUSN(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	if err := s.continueAD(sess, cur); err != nil {
		return err
	}
	wake := s.waker(ctx, sess)
	for first := true; ; first = false {
		if err := s.pollUSN(ctx, sess, cur, h, first); err != nil {
			return err
		}
		if err := s.sleepOrWake(ctx, wake); err != nil {
			return err
		}
	}
}

// pollUSN delivers every change in (cursor, highestCommittedUSN], page by
// page. It first reads only the uSNChanged values of the window, sorts them
// and cuts the window into ranges of at most maxChangePage entries that
// never split one USN, so each page's watermark (the top of its range) is a
// safe place to resume: the paged-results control returns entries in no
// particular order, so a watermark taken from a page of it could skip a
// lower USN still to come.
func (s *Source) pollUSN(ctx context.Context, sess *session, cur *Cursor, h directory.Handler, first bool) error {
	root, err := readRootDSE(sess.conn)
	if err != nil {
		return opError{server: sess.server, op: "read highestCommittedUSN"}.classify(err)
	}
	from, top := parseUSN(cur.USN), parseUSN(root.highestCommittedUSN)
	if top < from {
		return fmt.Errorf("directory/ldap: %s: highestCommittedUSN %d fell below the cursor's %d (rolled back): %w", sess.server, top, from, directory.ErrFullReadRequired)
	}
	if top == from {
		return s.idleHeartbeat(ctx, h, cur, first)
	}
	usns, err := s.scanUSNs(ctx, sess, from+1, top)
	if err != nil {
		return err
	}
	ranges := cutRanges(usns, maxChangePage)
	r := newReader(sess, s)
	for i, rg := range ranges {
		p, err := r.usnRange(ctx, rg)
		if err != nil {
			return err
		}
		cur.USN = strconv.FormatUint(rg[1], 10)
		if i == len(ranges)-1 {
			cur.USN = strconv.FormatUint(top, 10) // nothing matched above the last range
		}
		if err := deliver(ctx, h, cur, p); err != nil {
			return err
		}
	}
	if len(ranges) == 0 { // changes outside the filters: commit the new watermark
		cur.USN = strconv.FormatUint(top, 10)
		return deliver(ctx, h, cur, directory.Page{})
	}
	return nil
}

// idleHeartbeat hands over an empty page at the first poll and then once
// per heartbeat, so the committed cursor shows it was valid recently
// (tombstone lifetime check) and the agent sees the watch is live.
func (s *Source) idleHeartbeat(ctx context.Context, h directory.Handler, cur *Cursor, first bool) error {
	if !first && timeSince(cur.Seen) < heartbeat {
		return nil
	}
	return deliver(ctx, h, cur, directory.Page{})
}

// changeFilter matches what Watch follows: people, groups and tombstones.
func (r *reader) changeFilter() string {
	return "(|" + r.filterOf(directory.KindPerson) + r.filterOf(directory.KindGroup) + tombstoneFilter + ")"
}

func (r *reader) filterOf(kind directory.Kind) string {
	f := r.cfg.People.Filter
	if kind == directory.KindGroup {
		f = r.cfg.Groups.Filter
	}
	if f == "" {
		f = defaultFilter(r.sess.flavor, kind)
	}
	return f
}

// scanUSNs reads the uSNChanged of every followed entry changed in
// [lo, hi], sorted. Only numbers are held: 8 bytes per changed entry.
func (s *Source) scanUSNs(ctx context.Context, sess *session, lo, hi uint64) ([]uint64, error) {
	r := newReader(sess, s)
	filter := fmt.Sprintf("(&(uSNChanged>=%d)(uSNChanged<=%d)%s)", lo, hi, r.changeFilter())
	req := goldap.NewSearchRequest(sess.root.defaultNC, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"uSNChanged"}, []goldap.Control{goldap.NewControlMicrosoftShowDeleted()})
	var usns []uint64
	err := pagedSearch(ctx, sess, s.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, e := range page {
			usns = append(usns, parseUSN(e.GetAttributeValue("uSNChanged")))
		}
		return nil
	})
	slices.Sort(usns)
	return usns, err
}

// cutRanges splits sorted values into [lo, hi] ranges of at most limit
// values, never splitting equal values (so a range can exceed limit only
// when more than limit entries share one value).
func cutRanges[T comparable](sorted []T, limit int) [][2]T {
	var out [][2]T
	for start := 0; start < len(sorted); {
		end := min(start+limit, len(sorted))
		for end < len(sorted) && sorted[end] == sorted[end-1] {
			end++
		}
		out = append(out, [2]T{sorted[start], sorted[end-1]})
		start = end
	}
	return out
}

// usnRange reads the people, groups and tombstones of one USN range. An
// entry changed again since the scan now has a USN above the range and is
// read by the next poll, so nothing is lost between scan and read.
func (r *reader) usnRange(ctx context.Context, rg [2]uint64) (directory.Page, error) {
	var p directory.Page
	window := fmt.Sprintf("(uSNChanged>=%d)(uSNChanged<=%d)", rg[0], rg[1])
	for _, kind := range []directory.Kind{directory.KindPerson, directory.KindGroup} {
		req := r.searchRequest(kind)
		req.BaseDN = r.sess.root.defaultNC
		req.Filter = "(&" + window + r.filterOf(kind) + ")"
		if err := r.collect(ctx, req, kind, &p); err != nil {
			return p, err
		}
	}
	ids, err := r.tombstones(ctx, window)
	p.Deleted = append(p.Deleted, ids...)
	return p, err
}

// collect converts the entries of one search into p; an entry outside the
// configured base of its kind went out of scope and is reported deleted.
func (r *reader) collect(ctx context.Context, req *goldap.SearchRequest, kind directory.Kind, p *directory.Page) error {
	return pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, raw := range page {
			e, err := r.convert(ctx, raw, kind)
			if err != nil {
				return err
			}
			if r.inScope(kind, e.DN) {
				p.Entries = append(p.Entries, e)
			} else {
				p.Deleted = append(p.Deleted, e.ID)
			}
		}
		return nil
	})
}

// tombstones lists the IDs of people and groups deleted in the window.
func (r *reader) tombstones(ctx context.Context, window string) ([]string, error) {
	req := goldap.NewSearchRequest(r.sess.root.defaultNC, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(&"+window+tombstoneFilter+")", []string{"objectGUID"}, []goldap.Control{goldap.NewControlMicrosoftShowDeleted()})
	var ids []string
	err := pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, e := range page {
			id, err := GUIDString(e.GetRawAttributeValue("objectGUID"))
			if err != nil {
				return fmt.Errorf("directory/ldap: tombstone %q: %w", e.DN, err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
