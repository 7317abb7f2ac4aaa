package salesforce

import (
	"context"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
)

// maxAlias is the length of User.Alias: Salesforce rejects a longer one.
const maxAlias = 8

// ownedFields are User fields the connector sets itself; a mapping that
// writes them is an error, not something to send.
var ownedFields = map[string]bool{"Id": true, "IsActive": true, "ProfileId": true}

// writeUsers creates the users no account matched and updates the others,
// one collection call per kind, never mixing User with other objects.
func (c *Connector) writeUsers(ctx context.Context, jobs []*job) {
	var creates, updates []*job
	var createRecs, updateRecs []map[string]any
	for _, j := range jobs {
		if !j.live() {
			continue
		}
		rec, err := c.userRecord(j)
		switch {
		case err != nil:
			j.fail(err)
		case j.create:
			creates, createRecs = append(creates, j), append(createRecs, rec)
		case len(rec) > 1: // more than the Id
			updates, updateRecs = append(updates, j), append(updateRecs, rec)
		}
	}
	for i, o := range c.client.save(ctx, "POST", "User", createRecs) {
		c.saved(creates[i], createRecs[i], o)
	}
	for i, o := range c.client.save(ctx, "PATCH", "User", updateRecs) {
		c.saved(updates[i], updateRecs[i], o)
	}
}

// saved records the outcome of a User write on its job.
func (c *Connector) saved(j *job, rec map[string]any, o outcome) {
	if o.err != nil {
		j.fail(o.err)
		return
	}
	if j.user == nil {
		j.user = &sfUser{ID: o.id}
	}
	if v, ok := rec["Username"].(string); ok {
		j.user.Username = v
	}
	if v, ok := rec["Email"].(string); ok {
		j.user.Email = v
	}
	if v, ok := rec[c.cfg.AnchorField].(string); ok {
		j.user.Anchor = v
	}
	if v, ok := rec["IsActive"].(bool); ok {
		j.user.IsActive = v
	}
}

// userRecord is what to write for the job's operation; nil when the User
// record needs no change (a freeze, an account already inactive).
func (c *Connector) userRecord(j *job) (map[string]any, error) {
	if j.create {
		return c.createRecord(j)
	}
	rec := map[string]any{"Id": j.user.ID}
	switch j.req.Op {
	case connectors.OpCreate, connectors.OpReactivate:
		full, err := c.desiredFields(j)
		if err != nil {
			return nil, err
		}
		for k, v := range full {
			rec[k] = v
		}
		rec["IsActive"] = j.req.Op == connectors.OpReactivate || j.req.Desired.Active
	case connectors.OpUpdate:
		return c.changedFields(j, rec)
	case connectors.OpDeactivate:
		if j.user.IsActive {
			rec["IsActive"] = false
		}
	case connectors.OpActivate:
		if !j.user.IsActive {
			rec["IsActive"] = true
		}
	}
	return rec, nil
}

// desiredFields is the full desired User: mapped attributes, then the
// Username (with the sandbox suffix) and the anchor, which win over a mapped
// attribute of the same name, then the profile when it was resolved.
func (c *Connector) desiredFields(j *job) (map[string]any, error) {
	d := j.req.Desired
	rec := map[string]any{}
	for k, v := range d.Attributes {
		if err := c.checkField(k); err != nil {
			return nil, err
		}
		rec[k] = fieldValue(v)
	}
	rec["Username"] = c.username(j)
	if d.Anchor != "" {
		rec[c.cfg.AnchorField] = d.Anchor
	}
	if j.profileID != "" {
		rec["ProfileId"] = j.profileID
	}
	return rec, nil
}

// createRecord is a new User: ProfileId and the locale fields are required
// at create, so defaults fill what the mapping leaves out.
func (c *Connector) createRecord(j *job) (map[string]any, error) {
	if j.profileID == "" {
		return nil, connectors.Errorf(connectors.Permanent, "", "ProfileId is required at create and the mapping gives no profile")
	}
	rec, err := c.desiredFields(j)
	if err != nil {
		return nil, err
	}
	for k, v := range c.cfg.Defaults {
		if _, ok := rec[k]; !ok {
			rec[k] = v
		}
	}
	if _, ok := rec["Alias"]; !ok {
		rec["Alias"] = alias(j.req.Desired.UserName)
	}
	rec["IsActive"] = j.req.Desired.Active
	return rec, nil
}

// changedFields is an Update: only the attributes the request says changed,
// plus Username, anchor and profile when they differ from what the org last
// acknowledged.
func (c *Connector) changedFields(j *job, rec map[string]any) (map[string]any, error) {
	d, conf := j.req.Desired, j.req.Confirmed
	for _, k := range j.req.Changed {
		if err := c.checkField(k); err != nil {
			return nil, err
		}
		if k == "Username" || k == c.cfg.AnchorField {
			continue // written from the identity below, with the sandbox suffix
		}
		rec[k] = fieldValue(d.Attributes[k]) // absent: cleared (JSON null)
	}
	if conf == nil || conf.UserName != d.UserName {
		rec["Username"] = c.username(j)
	}
	if d.Anchor != "" && (conf == nil || conf.Anchor != d.Anchor) {
		rec[c.cfg.AnchorField] = d.Anchor
	}
	if j.profileID != "" {
		rec["ProfileId"] = j.profileID
	}
	return rec, nil
}

func (c *Connector) checkField(name string) error {
	if !fieldNameRe.MatchString(name) {
		return connectors.Errorf(connectors.Permanent, "", "attribute %q is not a Salesforce User field name", name)
	}
	if ownedFields[name] {
		return connectors.Errorf(connectors.Permanent, "", "attribute %q is set by the connector, not the mapping", name)
	}
	return nil
}

// fieldValue turns a mapped list into a multi-select picklist value, which
// Salesforce writes as values joined by semicolons.
func fieldValue(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	parts := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ";")
}

// alias derives User.Alias from the login's local part when the mapping
// gives none.
func alias(userName string) string {
	local, _, _ := strings.Cut(userName, "@")
	r := []rune(local)
	if len(r) > maxAlias {
		r = r[:maxAlias]
	}
	return string(r)
}
