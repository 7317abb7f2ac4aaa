package scim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/dirbridge/dirbridge/connectors"
)

// deactivate per the profile's DeactivateMode. An account that is already
// gone is a success with StatusDeleted: the person cannot log in, which is
// what a termination wants.
func (c *Connector) deactivate(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("deactivate user %q", req.Desired.UserName)
	acct, err := c.onUser(ctx, req, what, func(id string) (connectors.Account, error) {
		switch c.s.profile.Deactivate {
		case DeactivateDelete:
			return c.deleteUser(ctx, id, what)
		case DeactivateNone:
			c.log.Info().Str("id", id).Msg("profile cannot deactivate; account left as it is")
			r, err := c.getUser(ctx, id, what)
			return r.account(c.s.profile), err
		case DeactivateDeleteOnInactive:
			_, err := c.modify(ctx, id, what, []change{c.activeChange(false)})
			return deletedAccount(id, req), err
		}
		return c.setStatus(ctx, id, what, c.activeChange(false), connectors.StatusDeactivated)
	})
	return goneIsDeleted(acct, err, req)
}

// deleteUser sends DELETE (Slack-style deactivation) and reads back what
// the provider kept: Slack keeps the account with active=false, others
// remove it.
func (c *Connector) deleteUser(ctx context.Context, id, what string) (connectors.Account, error) {
	if _, err := c.client.do(ctx, exchange{method: http.MethodDelete, path: userPath(id), what: what}, nil); err != nil {
		return connectors.Account{}, err
	}
	r, err := c.getUser(ctx, id, what+" (read back)")
	if isNotFound(err) {
		return connectors.Account{ExternalID: id, Status: connectors.StatusDeleted}, nil
	}
	if err != nil {
		return connectors.Account{}, err
	}
	return r.account(c.s.profile), nil
}

func deletedAccount(id string, req connectors.Request) connectors.Account {
	return connectors.Account{ExternalID: id, UserName: req.Desired.UserName, Anchor: req.Desired.Anchor,
		Status: connectors.StatusDeleted}
}

func goneIsDeleted(acct connectors.Account, err error, req connectors.Request) (connectors.Account, error) {
	if isNotFound(err) {
		return deletedAccount(req.Account.ExternalID, req), nil
	}
	return acct, err
}

// activate serves Activate and Reactivate: active=true on the linked
// account, or, where the provider deleted it (delete-on-inactive, or a
// DELETE that really deletes), the Create path, which looks up before it
// posts.
func (c *Connector) activate(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("%s user %q", req.Op, req.Desired.UserName)
	if c.s.profile.Deactivate == DeactivateDeleteOnInactive {
		return c.create(ctx, req)
	}
	acct, err := c.onUser(ctx, req, what, func(id string) (connectors.Account, error) {
		return c.setStatus(ctx, id, what, c.activeChange(true), connectors.StatusActive)
	})
	if isNotFound(err) {
		c.log.Info().Str("op", string(req.Op)).Msg("account is gone; creating it again")
		return c.create(ctx, req)
	}
	return acct, err
}

// freeze stops logins: the provider's suspend attribute, else
// active=false, recorded as Frozen. A gone account is frozen enough.
func (c *Connector) freeze(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("freeze user %q", req.Desired.UserName)
	ch, err := c.freezeChange(true, false)
	if err != nil {
		return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	acct, err := c.onUser(ctx, req, what, func(id string) (connectors.Account, error) {
		return c.setStatus(ctx, id, what, ch, connectors.StatusFrozen)
	})
	return goneIsDeleted(acct, err, req)
}

// unfreeze undoes freeze. A missing account is NotFound: there is nothing
// to give back.
func (c *Connector) unfreeze(ctx context.Context, req connectors.Request) (connectors.Account, error) {
	what := fmt.Sprintf("unfreeze user %q", req.Desired.UserName)
	ch, err := c.freezeChange(false, req.Desired.Active)
	if err != nil {
		return connectors.Account{}, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	status := connectors.StatusActive
	if !req.Desired.Active {
		status = connectors.StatusDeactivated
	}
	return c.onUser(ctx, req, what, func(id string) (connectors.Account, error) {
		return c.setStatus(ctx, id, what, ch, status)
	})
}

// freezeChange is the write that freezes or unfreezes. Without a suspend
// attribute it is active itself, and unfreezing a person who is disabled
// as well must leave the account inactive.
func (c *Connector) freezeChange(frozen, active bool) (change, error) {
	if c.s.profile.SuspendAttribute != "" {
		return change{path: c.s.profile.SuspendAttribute, value: frozen}, nil
	}
	if c.s.profile.Deactivate == DeactivateDeleteOnInactive {
		// active=false would delete the account at such a provider.
		return change{}, fmt.Errorf("profile %q deletes on active=false and has no suspendAttribute; set one to freeze",
			c.s.profile.Name)
	}
	return c.activeChange(!frozen && active), nil
}

func (c *Connector) setStatus(ctx context.Context, id, what string, ch change, status connectors.AccountStatus) (connectors.Account, error) {
	r, err := c.modify(ctx, id, what, []change{ch})
	if err != nil {
		return connectors.Account{}, err
	}
	acct := connectors.Account{ExternalID: id, Status: status}
	if r != nil {
		acct = r.account(c.s.profile)
		acct.Status = status
	}
	return acct, nil
}
