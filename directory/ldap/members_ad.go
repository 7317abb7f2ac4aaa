package ldap

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
)

// adMembers turns extended-DN member values into GUIDs and, when the server
// cut the list into ranges (member;range=0-1499 on Windows), reads the rest
// range by range from the group itself.
func (r *reader) adMembers(ctx context.Context, groupDN string, values []string, rangeAttr string) ([]string, error) {
	ids := make([]string, 0, len(values))
	ids = r.appendGUIDs(ids, groupDN, values)
	for {
		next, done, err := nextRange(rangeAttr)
		if err != nil {
			return nil, fmt.Errorf("directory/ldap: group %q: %w", groupDN, err)
		}
		if done {
			return ids, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.stats.RangedReads++
		values, rangeAttr, err = r.readRange(groupDN, next)
		if err != nil {
			return nil, err
		}
		ids = r.appendGUIDs(ids, groupDN, values)
	}
}

func (r *reader) appendGUIDs(ids []string, groupDN string, values []string) []string {
	for _, v := range values {
		guid, _, err := extendedDN(v)
		if err != nil {
			// Only a server that ignores the control sends plain DNs; the
			// member is kept out rather than guessed.
			r.log.Warn().Err(err).Str("group", groupDN).Msg("member value without GUID skipped")
			continue
		}
		ids = append(ids, guid)
	}
	return ids
}

// nextRange parses "member;range=0-1499" and says where the next range
// starts; "member;range=1500-*" (or a plain "member") is the last one.
func nextRange(attr string) (start int, done bool, err error) {
	_, spec, ok := strings.Cut(attr, ";range=")
	if !ok {
		return 0, true, nil
	}
	lo, hi, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false, fmt.Errorf("malformed range %q", attr)
	}
	if hi == "*" {
		return 0, true, nil
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || h < l {
		return 0, false, fmt.Errorf("malformed range %q", attr)
	}
	return h + 1, false, nil
}

// readRange reads member;range=start-* (or start-(start+rangeSize-1)) of one group.
func (r *reader) readRange(groupDN string, start int) ([]string, string, error) {
	want := fmt.Sprintf("member;range=%d-*", start)
	if n := r.cfg.Groups.RangeSize; n > 0 {
		want = fmt.Sprintf("member;range=%d-%d", start, start+n-1)
	}
	req := goldap.NewSearchRequest(groupDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{want}, []goldap.Control{&controlExtendedDN{flag: 1}})
	res, err := r.sess.conn.Search(req)
	if err != nil {
		return nil, "", opError{server: r.sess.server, op: "ranged read of " + want + " of " + groupDN}.classify(err)
	}
	if len(res.Entries) != 1 {
		return nil, "", fmt.Errorf("directory/ldap: ranged read of group %q returned %d entries", groupDN, len(res.Entries))
	}
	for _, a := range res.Entries[0].Attributes {
		if name := strings.ToLower(a.Name); strings.HasPrefix(name, "member;range=") {
			return a.Values, name, nil
		}
	}
	// No ranged attribute: the group shrank below start while we read it.
	return nil, "member", nil
}

// primaryGroups resolves primaryGroupID (a RID) to the primary group's
// GUID: domain SID + "-" + RID is the group's objectSid. AD never lists a
// primary group in the group's member attribute, so without this "Domain
// Users" would look empty. One lookup per distinct RID per read.
type primaryGroups struct {
	sess      *session
	log       zerolog.Logger
	domainSID string
	byRID     map[string]string
}

func newPrimaryGroups(sess *session, log zerolog.Logger) *primaryGroups {
	return &primaryGroups{sess: sess, log: log, byRID: map[string]string{}}
}

func (p *primaryGroups) lookup(rid string) (string, error) {
	if rid == "" {
		return "", nil
	}
	if id, ok := p.byRID[rid]; ok {
		return id, nil
	}
	if _, err := strconv.ParseUint(rid, 10, 32); err != nil {
		p.log.Warn().Str("primaryGroupID", rid).Msg("primaryGroupID is not a number; ignored")
		p.byRID[rid] = ""
		return "", nil
	}
	id, err := p.find(rid)
	if err != nil {
		return "", err
	}
	p.byRID[rid] = id
	return id, nil
}

func (p *primaryGroups) find(rid string) (string, error) {
	if p.domainSID == "" {
		sid, err := p.readDomainSID()
		if err != nil {
			return "", err
		}
		p.domainSID = sid
	}
	sid := p.domainSID + "-" + rid
	e, err := searchOne(p.sess, p.namingContext(), "(objectSid="+goldap.EscapeFilter(sid)+")", []string{"objectGUID"})
	if errors.Is(err, errNoEntry) {
		p.log.Warn().Str("sid", sid).Msg("primary group not found; people with it get no primary group")
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return GUIDString(e.GetRawAttributeValue("objectGUID"))
}

func (p *primaryGroups) namingContext() string {
	if p.sess.root.defaultNC != "" {
		return p.sess.root.defaultNC
	}
	return p.sess.baseDN
}

func (p *primaryGroups) readDomainSID() (string, error) {
	req := goldap.NewSearchRequest(p.namingContext(), goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectSid"}, nil)
	res, err := p.sess.conn.Search(req)
	if err != nil {
		return "", opError{server: p.sess.server, op: "read the domain SID"}.classify(err)
	}
	if len(res.Entries) != 1 {
		return "", fmt.Errorf("directory/ldap: %s: domain object %q not found", p.sess.server, p.namingContext())
	}
	return SIDString(res.Entries[0].GetRawAttributeValue("objectSid"))
}

var errNoEntry = errors.New("no entry")

// searchOne returns the single entry matching filter under base.
func searchOne(sess *session, base, filter string, attrs []string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false, filter, attrs, nil)
	res, err := sess.conn.Search(req)
	if err != nil {
		return nil, opError{server: sess.server, op: "search " + filter}.classify(err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, errNoEntry
	case 1:
		return res.Entries[0], nil
	}
	return nil, fmt.Errorf("directory/ldap: %s: %s matches more than one entry under %q", sess.server, filter, base)
}
