package ldap

import (
	"context"
	"fmt"
	"regexp"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// attrName is an attribute description (RFC 4512 descr or numeric OID, with
// options): anything else could smuggle filter syntax through the name.
var attrName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)(;[A-Za-z0-9-]+)*$`)

// Lookup finds the one person whose attribute equals value, for
// `dirbridge preview <user>` and helpdesk questions. value is escaped
// (RFC 4515), so "*", "(", ")" and "\" match themselves and never widen
// the search. It returns directory.ErrNotFound when nobody matches.
func (s *Source) Lookup(ctx context.Context, attr, value string) (*directory.Entry, error) {
	if !attrName.MatchString(attr) {
		return nil, fmt.Errorf("directory/ldap: lookup: %q is not an attribute name", attr)
	}
	sess, err := s.conn.open(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	r := newReader(sess, s)
	req := r.searchRequest(directory.KindPerson)
	req.Filter = "(&" + req.Filter + "(" + attr + "=" + goldap.EscapeFilter(value) + "))"
	var found []directory.Entry
	err = pagedSearch(ctx, sess, s.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, e := range page {
			entry, err := r.convert(ctx, e, directory.KindPerson)
			if err != nil {
				return err
			}
			found = append(found, entry)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, fmt.Errorf("directory/ldap: no person with %s=%q: %w", attr, value, directory.ErrNotFound)
	case len(found) > 1:
		return nil, fmt.Errorf("directory/ldap: %d people have %s=%q; lookup needs a unique attribute", len(found), attr, value)
	}
	return &found[0], nil
}
