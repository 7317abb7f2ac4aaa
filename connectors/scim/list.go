package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dirbridge/dirbridge/connectors"
)

// ListAccounts streams every user, page by page (connectors.Lister).
func (c *Connector) ListAccounts(ctx context.Context, fn func(connectors.Account) error) error {
	return c.list(ctx, "/Users", nil, func(r resource) error { return fn(r.account(c.s.profile)) })
}

// ListGroups streams every group without its members, page by page.
func (c *Connector) ListGroups(ctx context.Context, fn func(Group) error) error {
	extra := url.Values{"excludedAttributes": {"members"}}
	return c.list(ctx, "/Groups", extra, func(r resource) error { return fn(groupOf(r)) })
}

// list pages with 1-based startIndex (RFC 7644 section 3.4.2.4). A server
// may return fewer items than asked for on any page, so the next page
// starts after what actually came and the end is totalResults or an empty
// page, never "a short page".
func (c *Connector) list(ctx context.Context, path string, extra url.Values, fn func(resource) error) error {
	count := c.pageSize(ctx)
	for start := 1; ; {
		page, err := c.page(ctx, path, extra, start, count)
		if err != nil {
			return err
		}
		for _, r := range page.Resources {
			if err := fn(r); err != nil {
				return err
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || (page.TotalResults > 0 && start > page.TotalResults) {
			return nil
		}
	}
}

func (c *Connector) page(ctx context.Context, path string, extra url.Values, start, count int) (listResponse, error) {
	q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(count)}}
	for k, v := range extra {
		q[k] = v
	}
	what := fmt.Sprintf("list %s from %d", path, start)
	var page listResponse
	if _, err := c.client.do(ctx, exchange{method: http.MethodGet, path: path, query: q, what: what}, &page); err != nil {
		return page, err
	}
	if page.StartIndex != 0 && page.StartIndex != start {
		// A server that ignores startIndex would make this loop forever.
		return page, connectors.Errorf(connectors.Permanent, "paging",
			"scim: %s: server answered startIndex %d; it does not page", what, page.StartIndex)
	}
	return page, nil
}
