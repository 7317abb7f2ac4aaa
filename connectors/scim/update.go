package scim

import (
	"context"
	"fmt"

	"github.com/dirbridge/dirbridge/connectors"
)

// update sends only what changed: the Changed paths (every mapped path when
// nothing was confirmed yet), userName and the anchor when they moved, and
// group membership deltas. A missing account is connectors.NotFound.
func (c *Connector) update(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("update user %q", req.Desired.UserName)
	changes, err := c.updateChanges(req)
	if err != nil {
		return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	var confirmedGroups []string
	if req.Confirmed != nil {
		confirmedGroups = req.Confirmed.Groups
	}
	return c.onUser(ctx, req, what, func(id string) (connectors.Account, error) {
		r, err := c.modifyOrRead(ctx, id, what, changes, req)
		if err != nil {
			return connectors.Account{}, err
		}
		acct, err := c.finish(ctx, req, r, confirmedGroups)
		if acct.Status == connectors.StatusDeactivated && req.Account.Status == connectors.StatusFrozen {
			acct.Status = connectors.StatusFrozen // frozen by active=false: an Update leaves it so
		}
		return acct, err
	})
}

// modifyOrRead writes changes, or, when there are none (only groups
// moved), trusts what the request says the account is.
func (c *Connector) modifyOrRead(ctx context.Context, id, what string, changes []change, req connectors.Request) (resource, error) {
	known := resource{"id": id, "userName": req.Desired.UserName, "externalId": req.Desired.Anchor,
		"active": req.Account.Status != connectors.StatusDeactivated && req.Account.Status != connectors.StatusFrozen}
	if len(changes) == 0 {
		return known, nil
	}
	r, err := c.modify(ctx, id, what, changes)
	if err != nil || r != nil {
		return r, err
	}
	return known, nil // 204 No Content
}

func (c *Connector) updateChanges(req connectors.Request) ([]change, error) {
	d := req.Desired
	paths := req.Changed
	if req.Confirmed == nil {
		paths = sortedKeys(d.Attributes)
	}
	var changes []change
	if req.Confirmed == nil || req.Confirmed.UserName != d.UserName {
		changes = append(changes, change{path: "userName", value: d.UserName})
	}
	if d.Anchor != "" && req.Account.Anchor != d.Anchor {
		changes = append(changes, change{path: "externalId", value: d.Anchor})
	}
	for _, k := range paths {
		p, err := parsePath(k)
		if err != nil {
			return nil, err
		}
		if !isReserved(p) {
			changes = append(changes, change{path: k, value: d.Attributes[k]})
		}
	}
	return changes, nil
}

// onUser runs fn on the person's account: the stored link, or, when there
// is none or it is gone (an admin deleted and re-created the account), the
// account carrying the person's anchor. NotFound when there is neither.
func (c *Connector) onUser(ctx context.Context, req connectors.Request, what string,
	fn func(id string) (connectors.Account, error)) (connectors.Account, error) {
	tried := ""
	if id := req.Account.ExternalID; id != "" {
		acct, err := fn(id)
		if !isNotFound(err) {
			return acct, err
		}
		tried = id
	}
	r, err := c.findOne(ctx, "externalId", req.Desired.Anchor, what)
	if err != nil {
		return connectors.Account{}, err
	}
	if r == nil || r.id() == tried {
		return connectors.Account{}, &connectors.Error{Class: connectors.NotFound, Code: "404",
			Err: fmt.Errorf("scim: %s: %w (link %q, anchor %q)", what, errGone, tried, req.Desired.Anchor)}
	}
	return fn(r.id())
}
