package salesforce

import (
	"context"
	"encoding/json"

	"github.com/dirbridge/dirbridge/connectors"
)

// ListAccounts streams the org's standard users (UserType 'Standard', so
// portal, community and automated users are left out) page by page. Frozen
// logins are read first: they are few, and the freeze lives on UserLogin,
// not User.
func (c *Connector) ListAccounts(ctx context.Context, fn func(connectors.Account) error) error {
	frozen := map[string]bool{}
	err := c.client.query(ctx, "SELECT UserId FROM UserLogin WHERE IsFrozen = true", func(raw json.RawMessage) error {
		var l loginRecord
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		frozen[l.UserID] = true
		return nil
	})
	if err != nil {
		return fmtErr("list frozen logins", err)
	}
	soql := "SELECT " + c.userFields() + " FROM User WHERE UserType = 'Standard'"
	err = c.client.query(ctx, soql, func(raw json.RawMessage) error {
		u, err := c.decodeUser(raw)
		if err != nil {
			return err
		}
		return fn(c.account(&job{user: u, frozen: frozen[u.ID]}))
	})
	return fmtErr("list users", err)
}
