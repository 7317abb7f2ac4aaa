package salesforce

import (
	"context"

	"github.com/dirbridge/dirbridge/connectors"
)

// Codes that mean the assignment is already as wanted: Salesforce refuses
// a second PermissionSetAssignment or PermissionSetLicenseAssign for the same
// user with DUPLICATE_VALUE, and a delete of a row already gone with
// ENTITY_IS_DELETED.
const (
	codeDuplicate = "DUPLICATE_VALUE"
	codeDeleted   = "ENTITY_IS_DELETED"
)

// entitle brings permission set assignments in line, in the order the org
// requires: licences first (a permission set that needs a permission set
// licence cannot be assigned without it), then assignments, then removals.
// A licence is left in place when its permission set is removed: another
// set may need it, and an admin may have assigned it by hand.
func (c *Connector) entitle(ctx context.Context, jobs []*job) {
	pending := pick(jobs, func(j *job) bool { return j.user != nil && !j.grants.empty() })
	c.assign(ctx, pending, "PermissionSetLicenseAssign", func(j *job) []map[string]any {
		return c.licenceRecords(j)
	})
	c.assign(ctx, pending, "PermissionSetAssignment", func(j *job) []map[string]any {
		return c.assignmentRecords(j)
	})
	c.unassign(ctx, pick(pending, func(j *job) bool { return len(j.grants.remove) > 0 }))
}

// assign creates the records each live job needs, one collection per
// object type; "already assigned" counts as success.
func (c *Connector) assign(ctx context.Context, jobs []*job, sobject string, records func(*job) []map[string]any) {
	var owners []*job
	var recs []map[string]any
	for _, j := range pick(jobs, func(*job) bool { return true }) {
		for _, r := range records(j) {
			owners, recs = append(owners, j), append(recs, r)
		}
	}
	for i, o := range c.client.save(ctx, "POST", sobject, recs) {
		if o.err != nil && connectors.CodeOf(o.err) != codeDuplicate {
			owners[i].fail(o.err)
		}
	}
}

func (c *Connector) licenceRecords(j *job) []map[string]any {
	var recs []map[string]any
	seen := map[string]bool{}
	for _, n := range j.grants.add {
		t, _ := c.grant(n)
		if t.LicenseID == "" || seen[t.LicenseID] {
			continue
		}
		seen[t.LicenseID] = true
		recs = append(recs, map[string]any{"AssigneeId": j.user.ID, "PermissionSetLicenseId": t.LicenseID})
	}
	return recs
}

// assignmentRecords: a permission set group is assigned through
// PermissionSetGroupId, a permission set through PermissionSetId.
func (c *Connector) assignmentRecords(j *job) []map[string]any {
	var recs []map[string]any
	for _, n := range j.grants.add {
		t, _ := c.grant(n)
		field := "PermissionSetId"
		if t.Group {
			field = "PermissionSetGroupId"
		}
		recs = append(recs, map[string]any{"AssigneeId": j.user.ID, field: t.ID})
	}
	return recs
}

type assignmentRow struct {
	ID                   string `json:"Id"`
	AssigneeID           string `json:"AssigneeId"`
	PermissionSetID      string `json:"PermissionSetId"`
	PermissionSetGroupID string `json:"PermissionSetGroupId"`
}

// unassign deletes the assignments of removed permission sets and groups;
// one that is not assigned any more is already as wanted.
func (c *Connector) unassign(ctx context.Context, jobs []*job) {
	rows, err := c.assignments(ctx, jobs)
	if err != nil {
		failAll(jobs, err)
		return
	}
	var owners []*job
	var ids []string
	for _, j := range jobs {
		for _, n := range j.grants.remove {
			t, ok := c.grant(n)
			if !ok {
				continue // the set no longer exists in the org, nor its assignments
			}
			for _, r := range rows[j.user.ID] {
				if r.PermissionSetGroupID == t.ID || !t.Group && r.PermissionSetID == t.ID {
					owners, ids = append(owners, j), append(ids, r.ID)
				}
			}
		}
	}
	for i, o := range c.client.remove(ctx, ids) {
		if o.err != nil && connectors.CodeOf(o.err) != codeDeleted {
			owners[i].fail(o.err)
		}
	}
}

// assignments returns the users' assignments, by user id.
func (c *Connector) assignments(ctx context.Context, jobs []*job) (map[string][]assignmentRow, error) {
	out := map[string][]assignmentRow{}
	ids := keys(jobs, func(j *job) string { return j.user.ID })
	for _, chunk := range chunks(dedupe(ids), maxCollection) {
		rows, err := queryAll[assignmentRow](ctx, c.client,
			"SELECT Id, AssigneeId, PermissionSetId, PermissionSetGroupId FROM PermissionSetAssignment WHERE AssigneeId IN "+inList(chunk))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.AssigneeID] = append(out[r.AssigneeID], r)
		}
	}
	return out, nil
}
