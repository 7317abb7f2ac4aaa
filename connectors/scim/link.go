package scim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/dirbridge/dirbridge/connectors"
)

// create links an existing account when one belongs to the person, and
// creates one otherwise (docs/design.md section 3; RFC 7644 section 3.3).
func (c *Connector) create(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("create user %q", req.Desired.UserName)
	if found, err := c.findLinkable(ctx, req, what); err != nil || found != nil {
		if err != nil {
			return connectors.Account{}, err
		}
		return c.adopt(ctx, req, found, what)
	}
	doc, err := userDocument(req.Desired, c.s.profile)
	if err != nil {
		return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	var created resource
	status, err := c.client.do(ctx, exchange{method: http.MethodPost, path: "/Users", body: doc, what: what}, &created)
	if status == http.StatusConflict {
		return c.resolveConflict(ctx, req, what, err)
	}
	if err != nil {
		return connectors.Account{}, err
	}
	if created.id() == "" {
		return connectors.Account{}, connectors.Errorf(connectors.Retryable, "", "scim: %s: answer has no id: %w", what, errMalformed)
	}
	return c.finish(ctx, req, created, nil)
}

// resolveConflict handles a 409 on create: somebody (an earlier attempt of
// ours, an admin, another tool) holds the userName or email. Look up and
// decide as before the POST; when the holder cannot be found by anchor or
// userName (an email clash) the 409 stands as a Conflict.
func (c *Connector) resolveConflict(ctx context.Context, req connectors.Request, what string, postErr error) (connectors.Account, error) {
	found, err := c.findLinkable(ctx, req, what)
	if err != nil {
		return connectors.Account{}, err
	}
	if found == nil {
		return connectors.Account{}, postErr
	}
	return c.adopt(ctx, req, found, what)
}

// findLinkable returns the account that belongs to the person, nil when
// there is none, or a Conflict when the only candidate carries another
// anchor. Order: stored link, externalId, userName, work email.
func (c *Connector) findLinkable(ctx context.Context, req connectors.Request, what string) (resource, error) {
	if id := req.Account.ExternalID; id != "" {
		r, err := c.getUser(ctx, id, what)
		if err == nil {
			return r, checkAnchor(r, req.Desired.Anchor, what, "stored link")
		}
		if !isNotFound(err) {
			return nil, err
		}
	}
	if req.Desired.Anchor != "" {
		r, err := c.findOne(ctx, "externalId", req.Desired.Anchor, what)
		if r != nil || err != nil {
			return r, err
		}
	}
	for _, by := range c.matchKeys(req.Desired) {
		r, err := c.findOne(ctx, by[0], by[1], what)
		if err != nil || r != nil {
			if err == nil {
				err = checkAnchor(r, req.Desired.Anchor, what, by[0])
			}
			return r, err
		}
	}
	return nil, nil
}

// matchKeys lists the (attribute, value) pairs that may match an
// unanchored account.
func (c *Connector) matchKeys(u connectors.User) [][2]string {
	keys := [][2]string{{"userName", u.UserName}}
	if c.s.linkByEmail {
		if doc, err := userDocument(u, c.s.profile); err == nil && doc.workEmail() != "" {
			keys = append(keys, [2]string{"emails.value", doc.workEmail()})
		}
	}
	return keys
}

// findOne returns the single match, nil for none, and a Conflict when
// several accounts match: linking must never guess.
func (c *Connector) findOne(ctx context.Context, attr, value, what string) (resource, error) {
	if value == "" {
		return nil, nil
	}
	found, err := c.findUsers(ctx, attr, value, what+": look up by "+attr)
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, nil
	case len(found) > 1:
		return nil, connectors.Errorf(connectors.Conflict, "duplicate",
			"scim: %s: %d accounts have %s %q; link one by hand", what, len(found), attr, value)
	}
	if found[0].id() == "" {
		return nil, connectors.Errorf(connectors.Retryable, "", "scim: %s: match has no id: %w", what, errMalformed)
	}
	return found[0], nil
}

// checkAnchor refuses a candidate that carries somebody else's anchor: a
// re-hire with a new GUID must never inherit a leaver's account.
func checkAnchor(r resource, anchor, what, by string) error {
	if has := r.str("externalId"); has != "" && anchor != "" && has != anchor {
		return connectors.Errorf(connectors.Conflict, "anchor",
			"scim: %s: account %s found by %s carries another anchor (externalId %q, want %q); not adopted",
			what, r.id(), by, has, anchor)
	}
	return nil
}

// adopt links an existing account and brings it to the desired state:
// anchor, userName, mapped attributes, active, groups.
func (c *Connector) adopt(ctx context.Context, req connectors.Request, found resource, what string) (connectors.Account, error) {
	changes, err := c.fullChanges(req.Desired)
	if err != nil {
		return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	c.log.Info().Str("id", found.id()).Str("userName", found.str("userName")).
		Bool("hadAnchor", found.str("externalId") != "").Msg("linking existing account")
	out, err := c.modify(ctx, found.id(), what+" (link existing)", changes)
	if err != nil {
		return connectors.Account{}, err
	}
	if out == nil {
		out = found
		_ = mergeChanges(out, changes)
	}
	return c.finish(ctx, req, out, nil)
}

// fullChanges writes everything the mapping says about the user.
func (c *Connector) fullChanges(u connectors.User) ([]change, error) {
	doc, err := userDocument(u, c.s.profile)
	if err != nil {
		return nil, err
	}
	changes := []change{{path: "userName", value: u.UserName}}
	if u.Anchor != "" {
		changes = append(changes, change{path: "externalId", value: u.Anchor})
	}
	for _, k := range sortedKeys(u.Attributes) {
		if p, err := parsePath(k); err == nil && !isReserved(p) {
			changes = append(changes, change{path: k, value: u.Attributes[k]})
		}
	}
	if c.s.profile.SuspendAttribute != "" {
		changes = append(changes, change{path: c.s.profile.SuspendAttribute, value: u.Frozen})
	}
	return append(changes, c.activeChange(doc["active"] == true)), nil
}

// activeChange sets active in the profile's form.
func (c *Connector) activeChange(active bool) change {
	if c.s.profile.PathlessActive {
		return change{value: map[string]any{"active": active}}
	}
	return change{path: "active", value: active}
}

// finish adds the group memberships the request asks for and returns the
// account; confirmedGroups nil means "add all, remove none".
func (c *Connector) finish(ctx context.Context, req connectors.Request, r resource, confirmedGroups []string) (connectors.Account, error) {
	acct := r.account(c.s.profile)
	if req.Desired.Frozen {
		acct.Status = connectors.StatusFrozen
	}
	if err := c.syncGroups(ctx, acct.ExternalID, req.Desired.Groups, confirmedGroups); err != nil {
		return acct, err
	}
	return acct, nil
}
