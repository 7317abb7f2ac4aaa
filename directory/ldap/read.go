package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/directory"
)

// Default filters per flavor. AD's objectCategory=person excludes computer
// accounts, which are also objectClass=user.
const (
	adPeopleFilter = "(&(objectCategory=person)(objectClass=user))"
	adGroupFilter  = "(objectClass=group)"
	olPeopleFilter = "(objectClass=inetOrgPerson)"
	olGroupFilter  = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
)

// reader runs one full read over one session.
type reader struct {
	sess    *session
	cfg     *Config
	log     zerolog.Logger
	attrs   []string
	idAttr  string // objectguid or entryuuid
	primary *primaryGroups
	dns     *dnResolver
	stats   ReadStats
}

// ReadStats counts what one full read did, for logs, metrics and tests.
type ReadStats struct {
	People, Groups int
	Pages          int // pages handed to the handler
	RangedReads    int // AD: extra member;range=... reads of large groups
	MemberLookups  int // OpenLDAP: member DNs looked up (cache misses)
}

func newReader(sess *session, s *Source) *reader {
	r := &reader{sess: sess, cfg: &s.cfg, log: s.log, attrs: s.attrs, idAttr: "entryuuid"}
	if sess.flavor == FlavorAD {
		r.idAttr = "objectguid"
		r.primary = newPrimaryGroups(sess, s.log)
	} else {
		r.dns = newDNResolver(sess, s.log)
	}
	return r
}

func (r *reader) readAll(ctx context.Context, h directory.Handler) error {
	if err := r.readKind(ctx, h, directory.KindPerson); err != nil {
		return err
	}
	return r.readKind(ctx, h, directory.KindGroup)
}

// readKind pages through one search and hands each converted page to h.
func (r *reader) readKind(ctx context.Context, h directory.Handler, kind directory.Kind) error {
	req := r.searchRequest(kind)
	return pagedSearch(ctx, r.sess, r.cfg.PageSize, req, func(raw []*goldap.Entry) error {
		if len(raw) == 0 {
			return nil // the final page of an exact multiple of pageSize is empty
		}
		page := directory.Page{Entries: make([]directory.Entry, 0, len(raw))}
		for _, e := range raw {
			entry, err := r.convert(ctx, e, kind)
			if err != nil {
				return err
			}
			page.Entries = append(page.Entries, entry)
		}
		if kind == directory.KindPerson {
			r.stats.People += len(page.Entries)
		} else {
			r.stats.Groups += len(page.Entries)
		}
		r.stats.Pages++
		if err := h(ctx, page); err != nil {
			return handlerError{err}
		}
		return nil
	})
}

func (r *reader) searchRequest(kind directory.Kind) *goldap.SearchRequest {
	base, filter := r.cfg.People.Base, r.cfg.People.Filter
	if kind == directory.KindGroup {
		base, filter = r.cfg.Groups.Base, r.cfg.Groups.Filter
	}
	if base == "" {
		base = r.sess.baseDN
	}
	if filter == "" {
		filter = defaultFilter(r.sess.flavor, kind)
	}
	var controls []goldap.Control
	if kind == directory.KindGroup && r.sess.flavor == FlavorAD {
		controls = append(controls, &controlExtendedDN{flag: 1})
	}
	return goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		filter, r.requestAttrs(kind), controls)
}

func defaultFilter(f Flavor, kind directory.Kind) string {
	switch {
	case f == FlavorAD && kind == directory.KindPerson:
		return adPeopleFilter
	case f == FlavorAD:
		return adGroupFilter
	case kind == directory.KindPerson:
		return olPeopleFilter
	default:
		return olGroupFilter
	}
}

// requestAttrs asks only for what the mapping reads plus what the source
// itself needs; no mapping attributes means all user attributes ("*").
func (r *reader) requestAttrs(kind directory.Kind) []string {
	attrs := slices.Clone(r.attrs)
	if len(attrs) == 0 {
		attrs = []string{"*"}
	}
	attrs = append(attrs, r.idAttr)
	switch {
	case kind == directory.KindPerson && r.sess.flavor == FlavorAD:
		attrs = append(attrs, "primarygroupid")
	case kind == directory.KindGroup:
		attrs = slices.DeleteFunc(attrs, func(a string) bool { return a == r.memberAttr() })
		attrs = append(attrs, r.firstMemberRange())
	}
	slices.Sort(attrs)
	return slices.Compact(attrs)
}

func (r *reader) memberAttr() string {
	if r.sess.flavor == FlavorAD {
		return "member"
	}
	return r.cfg.Groups.MemberAttribute
}

// firstMemberRange is "member" (the server picks the range) or
// "member;range=0-N" when groups.rangeSize is set.
func (r *reader) firstMemberRange() string {
	if r.sess.flavor != FlavorAD || r.cfg.Groups.RangeSize == 0 {
		return r.memberAttr()
	}
	return fmt.Sprintf("member;range=0-%d", r.cfg.Groups.RangeSize-1)
}

// convert builds a directory.Entry; values are kept as the raw bytes the
// server sent (binary and non-UTF-8 values survive unchanged).
func (r *reader) convert(ctx context.Context, e *goldap.Entry, kind directory.Kind) (directory.Entry, error) {
	out := directory.Entry{DN: stripExtendedDN(e.DN), Kind: kind, Attributes: make(map[string][]string, len(e.Attributes))}
	var members []string
	var memberRange string
	for _, a := range e.Attributes {
		name := strings.ToLower(a.Name)
		if kind == directory.KindGroup && isMemberAttr(name, r.memberAttr()) {
			// With "*" Samba sends both member and member;range=...: the
			// ranged one drives the follow-up reads.
			if members == nil || strings.Contains(name, ";range=") {
				members, memberRange = a.Values, name
			}
			continue
		}
		out.Attributes[name] = append(out.Attributes[name], r.plainValues(kind, a.Values)...)
	}
	id, err := r.entryID(out)
	if err != nil {
		return out, fmt.Errorf("directory/ldap: entry %q: %w", out.DN, err)
	}
	out.ID = id
	if r.dns != nil {
		r.dns.learn(e.DN, id)
	}
	if kind == directory.KindGroup {
		out.Members, err = r.groupMembers(ctx, out.DN, members, memberRange)
		return out, err
	}
	if r.primary != nil {
		out.PrimaryGroup, err = r.primary.lookup(out.Attr("primarygroupid"))
	}
	return out, err
}

func isMemberAttr(name, memberAttr string) bool {
	return name == memberAttr || strings.HasPrefix(name, memberAttr+";range=")
}

// entryID is an error when missing: an entry without its stable ID cannot be
// tracked, and silently dropping it would look like a deletion.
func (r *reader) entryID(e directory.Entry) (string, error) {
	v := e.Attributes[r.idAttr]
	if len(v) != 1 {
		return "", fmt.Errorf("has %d values of %s, want 1 (can the bind account read it?)", len(v), r.idAttr)
	}
	if r.idAttr == "objectguid" {
		return GUIDString([]byte(v[0]))
	}
	return canonicalUUID(v[0])
}

func (r *reader) groupMembers(ctx context.Context, dn string, values []string, rangeAttr string) ([]string, error) {
	if r.sess.flavor == FlavorAD {
		return r.adMembers(ctx, dn, values, rangeAttr)
	}
	if r.memberAttr() == "uniquemember" {
		values = stripOptionalUIDs(values)
	}
	return r.dns.resolve(ctx, values)
}

// stripOptionalUIDs removes the optional "#'0101'B" UID that RFC 4517's
// Name And Optional UID syntax (uniqueMember) allows after the DN.
func stripOptionalUIDs(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		if j := strings.LastIndex(v, "#'"); j > 0 && strings.HasSuffix(v, "'B") && v[j-1] != '\\' {
			v = v[:j]
		}
		out[i] = v
	}
	return out
}

// plainValues undoes the extended-DN control on the other DN-valued
// attributes of an AD group (managedBy, distinguishedName): the control
// applies to the whole search, but the mapping wants plain DNs.
func (r *reader) plainValues(kind directory.Kind, values []string) []string {
	if kind != directory.KindGroup || r.sess.flavor != FlavorAD {
		return values
	}
	for i, v := range values {
		if strings.HasPrefix(v, "<GUID=") {
			values[i] = stripExtendedDN(v)
		}
	}
	return values
}
