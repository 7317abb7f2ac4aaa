package ldap

import (
	"context"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"
)

// pagedSearch runs req with the paged-results control (RFC 2696) and calls
// fn once per page, so at most one page is held in memory. It returns nil
// only after the server answered a page with an empty cookie: anything else
// (a dropped connection, a canceled context, an error from fn) is an error,
// and a read that ended early is never mistaken for a complete one.
func pagedSearch(ctx context.Context, sess *session, pageSize int, req *goldap.SearchRequest, fn func([]*goldap.Entry) error) error {
	paging := goldap.NewControlPaging(uint32(pageSize))
	base := req.Controls
	oe := opError{server: sess.server, op: fmt.Sprintf("paged search of %q", req.BaseDN)}
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		req.Controls = append(base[:len(base):len(base)], paging)
		res, err := sess.conn.Search(req)
		if err != nil {
			oe.op = fmt.Sprintf("paged search of %q (page %d)", req.BaseDN, page)
			return oe.classify(err)
		}
		if err := fn(res.Entries); err != nil {
			return err
		}
		ctrl, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		// A server that ignores the (non-critical) control returns everything
		// in one successful result: that result is complete.
		if !ok || len(ctrl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}
