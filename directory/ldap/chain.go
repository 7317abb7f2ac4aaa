package ldap

import (
	"context"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"
)

// NestedMembers asks an AD DC for every direct and indirect member of a
// group with LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941), which
// the DC evaluates with its own cycle detection. The agent resolves nesting
// from the direct edges FullRead delivers; this is the independent answer
// that `dirbridge check` and tests compare it with. It returns the members'
// IDs (people and groups) in the order the DC sent them.
func (s *Source) NestedMembers(ctx context.Context, groupDN string) ([]string, error) {
	sess, err := s.conn.open(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	if sess.flavor != FlavorAD {
		return nil, fmt.Errorf("directory/ldap: nested membership by IN_CHAIN needs Active Directory; %s is %s", sess.server, sess.flavor)
	}
	filter := "(memberOf:" + oidMatchingChain + ":=" + goldap.EscapeFilter(groupDN) + ")"
	req := goldap.NewSearchRequest(sess.root.defaultNC, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"objectGUID"}, nil)
	var ids []string
	err = pagedSearch(ctx, sess, s.cfg.PageSize, req, func(page []*goldap.Entry) error {
		for _, e := range page {
			id, err := GUIDString(e.GetRawAttributeValue("objectGUID"))
			if err != nil {
				return fmt.Errorf("directory/ldap: %q: %w", e.DN, err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}
