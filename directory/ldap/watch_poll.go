package ldap

import (
	"context"
	"fmt"
	"slices"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// watchPoll follows an LDAP server without syncprov by polling entryCSN
// (OpenLDAP's per-change sequence, microsecond time plus a counter, so two
// changes never share one) under the people and groups bases. Polling
// cannot see deletes, nor an entry that left a base: the agent's scheduled
// full reconciliation finds them (Check says so). Entries come whole.
func (s *Source) watchPoll(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	if cur.CSN == "" {
		return fmt.Errorf("directory/ldap: the cursor has no entryCSN watermark: %w", directory.ErrFullReadRequired)
	}
	for {
		if err := s.pollCSN(ctx, sess, cur, h); err != nil {
			return err
		}
		if err := s.sleepOrWake(ctx, nil); err != nil {
			return err
		}
	}
}

// pollCSN delivers the entries changed after the watermark, bounded by
// the suffix's contextCSN when the server keeps one (then every change up
// to it is committed). CSNs compare as strings (RFC 4533 cookie order:
// the time comes first, in fixed width).
func (s *Source) pollCSN(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	ctxCSN, err := readContextCSN(sess)
	if err != nil {
		return opError{server: sess.server, op: "read contextCSN"}.classify(err)
	}
	top := maxCSN(ctxCSN)
	if top != "" && top <= cur.CSN {
		return nil
	}
	r := newReader(sess, s)
	csns, err := r.scanCSNs(ctx, cur.CSN, top)
	if err != nil {
		return err
	}
	for _, rg := range cutRanges(csns, maxChangePage) {
		p, err := r.csnRange(ctx, rg)
		if err != nil {
			return err
		}
		cur.CSN = rg[1]
		if err := deliver(ctx, h, cur, p); err != nil {
			return err
		}
	}
	return nil
}

func maxCSN(csns []string) string {
	if len(csns) == 0 {
		return ""
	}
	return slices.Max(csns)
}

// csnWindow is the filter for CSNs in (after, upTo]; upTo "" is unbounded.
func csnWindow(after, upTo string) string {
	f := "(entryCSN>=" + goldap.EscapeFilter(after) + ")(!(entryCSN<=" + goldap.EscapeFilter(after) + "))"
	if upTo != "" {
		f += "(entryCSN<=" + goldap.EscapeFilter(upTo) + ")"
	}
	return f
}

// scanCSNs reads the entryCSN of every followed entry in (after, upTo],
// sorted, so pages can be cut at CSN boundaries (see pollUSN).
func (r *reader) scanCSNs(ctx context.Context, after, upTo string) ([]string, error) {
	var csns []string
	for _, kind := range followedKinds {
		req := r.searchRequest(kind)
		req.Filter = "(&" + csnWindow(after, upTo) + r.filterOf(kind) + ")"
		req.Attributes, req.Controls = []string{"entryCSN"}, nil
		err := pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(page []*goldap.Entry) error {
			for _, e := range page {
				csns = append(csns, e.GetAttributeValue("entryCSN"))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(csns)
	return csns, nil
}

// csnRange reads the people and groups whose entryCSN is in [lo, hi]. An
// entry changed since the scan has a higher CSN and comes with the next poll.
func (r *reader) csnRange(ctx context.Context, rg [2]string) (directory.Page, error) {
	var p directory.Page
	window := "(entryCSN>=" + goldap.EscapeFilter(rg[0]) + ")(entryCSN<=" + goldap.EscapeFilter(rg[1]) + ")"
	for _, kind := range followedKinds {
		r.dns = newDNResolver(r.sess, r.log) // no cache across polls: renames would make it stale
		req := r.searchRequest(kind)
		req.Filter = "(&" + window + r.filterOf(kind) + ")"
		if err := r.collect(ctx, req, kind, &p); err != nil {
			return p, err
		}
	}
	return p, nil
}
