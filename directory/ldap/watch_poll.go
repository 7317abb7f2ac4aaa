package ldap

import (
	"context"
	"fmt"
	"slices"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// watchPoll follows an LDAP server without syncprov by polling entryCSN
// (OpenLDAP's per-change sequence, microsecond time plus a counter, so two
// changes never share one) or, where there is none, modifyTimestamp
// (1-second granularity), under the people and groups bases. Polling
// cannot see deletes, nor an entry that left a base: the agent's scheduled
// full reconciliation finds them (Check says so). Entries come whole.
func (s *Source) watchPoll(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	if cur.CSN == "" || cur.PollAttr == "" {
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

// pollCSN delivers the entries whose polled attribute is in (watermark,
// top], page by page; top is the suffix's contextCSN when the server keeps
// one (every change up to it is committed), otherwise now minus
// changes.clockLag. Both attributes compare as strings: CSNs and
// GeneralizedTime values start with the time in fixed width.
func (s *Source) pollCSN(ctx context.Context, sess *session, cur *Cursor, h directory.Handler) error {
	ctxCSN, err := readContextCSN(sess)
	if err != nil {
		return opError{server: sess.server, op: "read contextCSN"}.classify(err)
	}
	top := s.pollTop(cur.PollAttr, ctxCSN)
	if top <= cur.CSN {
		return nil
	}
	r := newReader(sess, s)
	vals, err := r.scanPolled(ctx, cur.PollAttr, cur.CSN, top)
	if err != nil {
		return err
	}
	ranges := cutRanges(vals, maxChangePage)
	for i, rg := range ranges {
		p, err := r.pollRange(ctx, cur.PollAttr, rg)
		if err != nil {
			return err
		}
		cur.CSN = rg[1]
		if i == len(ranges)-1 {
			cur.CSN = top
		}
		if err := deliver(ctx, h, cur, p); err != nil {
			return err
		}
	}
	return nil
}

// pollAttribute resolves changes.pollAttribute: auto takes entryCSN when
// the base entry carries one (OpenLDAP), else modifyTimestamp.
func (s *Source) pollAttribute(sess *session) (string, error) {
	if a := s.cfg.Changes.PollAttribute; a != MethodAuto {
		return a, nil
	}
	e, err := searchBase(sess, sess.baseDN, "entryCSN")
	if err != nil {
		return "", err
	}
	if e.GetAttributeValue("entryCSN") != "" {
		return PollEntryCSN, nil
	}
	return PollModifyTimestamp, nil
}

// pollTop is the highest value a poll may take as its watermark.
func (s *Source) pollTop(attr string, contextCSN []string) string {
	if attr == PollEntryCSN && len(contextCSN) > 0 {
		return maxCSN(contextCSN)
	}
	cut := time.Now().UTC().Add(-s.cfg.Changes.ClockLag)
	if attr == PollEntryCSN { // a CSN at the cut-off time, lowest in its microsecond
		return cut.Format("20060102150405.000000Z") + "#000000#000#000000"
	}
	// modifyTimestamp has whole seconds: the last full second before the cut-off.
	return cut.Add(-time.Second).Format("20060102150405Z")
}

func maxCSN(csns []string) string {
	if len(csns) == 0 {
		return ""
	}
	return slices.Max(csns)
}

// window is the filter for values of attr in (after, upTo].
func window(attr, after, upTo string) string {
	a, u := goldap.EscapeFilter(after), goldap.EscapeFilter(upTo)
	return "(" + attr + ">=" + a + ")(!(" + attr + "<=" + a + "))(" + attr + "<=" + u + ")"
}

// scanPolled reads the polled attribute of every followed entry in
// (after, upTo], sorted, so pages can be cut at value boundaries (see
// pollUSN).
func (r *reader) scanPolled(ctx context.Context, attr, after, upTo string) ([]string, error) {
	var csns []string
	for _, kind := range followedKinds {
		req := r.searchRequest(kind)
		req.Filter = "(&" + window(attr, after, upTo) + r.filterOf(kind) + ")"
		req.Attributes, req.Controls = []string{attr}, nil
		err := pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(page []*goldap.Entry) error {
			for _, e := range page {
				csns = append(csns, e.GetEqualFoldAttributeValue(attr))
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

// pollRange reads the people and groups whose polled attribute is in
// [lo, hi]. An entry changed since the scan has a higher value and comes
// with the next poll.
func (r *reader) pollRange(ctx context.Context, attr string, rg [2]string) (directory.Page, error) {
	var p directory.Page
	window := "(" + attr + ">=" + goldap.EscapeFilter(rg[0]) + ")(" + attr + "<=" + goldap.EscapeFilter(rg[1]) + ")"
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
