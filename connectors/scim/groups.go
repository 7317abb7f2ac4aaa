package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
)

// Group is a SCIM group as listed (members left out).
type Group struct {
	ID          string
	DisplayName string
	ExternalID  string
}

// syncGroups adds the user to groups in desired but not in confirmed and
// removes it from groups in confirmed but not in desired: deltas only, the
// member list is never replaced (a PUT of members would drop everyone the
// request does not know about). Names compare case-insensitively, as SCIM
// displayName filters do.
func (c *Connector) syncGroups(ctx context.Context, userID string, desired, confirmed []string) error {
	add, remove := diffNames(desired, confirmed)
	for _, name := range add {
		if err := c.AddMembers(ctx, name, []string{userID}); err != nil {
			return err
		}
	}
	for _, name := range remove {
		if err := c.RemoveMembers(ctx, name, []string{userID}); err != nil {
			return err
		}
	}
	return nil
}

func diffNames(desired, confirmed []string) (add, remove []string) {
	in := func(list []string, s string) bool {
		for _, x := range list {
			if strings.EqualFold(x, s) {
				return true
			}
		}
		return false
	}
	for _, g := range desired {
		if !in(confirmed, g) {
			add = append(add, g)
		}
	}
	for _, g := range confirmed {
		if !in(desired, g) {
			remove = append(remove, g)
		}
	}
	return add, remove
}

// AddMembers adds users (SCIM ids) to the group named name, creating the
// group when it is missing and groups.create is on, in chunks of the
// profile's MemberChunk. Adding a member twice is a success (RFC 7644
// section 3.5.2.1: add to a multi-valued attribute merges).
func (c *Connector) AddMembers(ctx context.Context, name string, userIDs []string) error {
	return c.members(ctx, name, userIDs, true)
}

// RemoveMembers removes users from the group named name, in chunks. A
// missing group has no members to remove: a success.
func (c *Connector) RemoveMembers(ctx context.Context, name string, userIDs []string) error {
	return c.members(ctx, name, userIDs, false)
}

func (c *Connector) members(ctx context.Context, name string, userIDs []string, add bool) error {
	gid, err := c.groupID(ctx, name, add && c.s.createGroups)
	if err != nil || gid == "" {
		return err
	}
	err = c.patchMembers(ctx, gid, name, userIDs, add)
	if isNotFound(err) {
		// The cached group was deleted (and maybe re-created) behind our back.
		c.forgetGroup(name)
		if gid, err = c.groupID(ctx, name, add && c.s.createGroups); err != nil || gid == "" {
			return err
		}
		err = c.patchMembers(ctx, gid, name, userIDs, add)
	}
	return err
}

func (c *Connector) patchMembers(ctx context.Context, gid, name string, userIDs []string, add bool) error {
	verb := map[bool]string{true: "add", false: "remove"}[add]
	chunk := max(c.s.profile.MemberChunk, 1)
	for start := 0; start < len(userIDs); start += chunk {
		ids := userIDs[start:min(start+chunk, len(userIDs))]
		body := patchRequest{Schemas: []string{patchOpSchema}, Operations: c.memberOps(ids, add)}
		x := exchange{method: http.MethodPatch, path: "/Groups/" + url.PathEscape(gid), body: body,
			what: fmt.Sprintf("%s %d member(s) of group %q", verb, len(ids), name)}
		if _, err := c.client.do(ctx, x, nil); err != nil {
			return err
		}
	}
	return nil
}

func (c *Connector) memberOps(ids []string, add bool) []patchOp {
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = map[string]any{"value": id}
	}
	switch {
	case add:
		return []patchOp{{Op: c.s.profile.op("add"), Path: "members", Value: values}}
	case c.s.profile.MemberRemoval == RemoveByValueList:
		return []patchOp{{Op: c.s.profile.op("remove"), Path: "members", Value: values}}
	}
	ops := make([]patchOp, len(ids))
	for i, id := range ids {
		ops[i] = patchOp{Op: c.s.profile.op("remove"), Path: "members[value eq " + quoteFilterValue(id) + "]"}
	}
	return ops
}

// groupID finds a group by displayName (cached), creating it when asked.
// "" without error means missing and not created.
func (c *Connector) groupID(ctx context.Context, name string, create bool) (string, error) {
	key := strings.ToLower(name)
	c.groupMu.Lock()
	id, ok := c.groups[key]
	c.groupMu.Unlock()
	if ok {
		return id, nil
	}
	g, err := c.FindGroup(ctx, name)
	if err == nil && g == nil && create {
		g, err = c.createGroup(ctx, name)
	}
	if err != nil || g == nil {
		return "", err
	}
	c.groupMu.Lock()
	c.groups[key] = g.ID
	c.groupMu.Unlock()
	return g.ID, nil
}

func (c *Connector) forgetGroup(name string) {
	c.groupMu.Lock()
	delete(c.groups, strings.ToLower(name))
	c.groupMu.Unlock()
}

// FindGroup returns the group with displayName name, nil when none.
func (c *Connector) FindGroup(ctx context.Context, name string) (*Group, error) {
	q := url.Values{"filter": {"displayName eq " + quoteFilterValue(name)}, "excludedAttributes": {"members"}}
	var page listResponse
	what := fmt.Sprintf("find group %q", name)
	if _, err := c.client.do(ctx, exchange{method: http.MethodGet, path: "/Groups", query: q, what: what}, &page); err != nil {
		return nil, err
	}
	switch len(page.Resources) {
	case 0:
		return nil, nil
	case 1:
		g := groupOf(page.Resources[0])
		return &g, nil
	}
	return nil, connectors.Errorf(connectors.Conflict, "duplicate", "scim: %s: %d groups have that name", what, len(page.Resources))
}

// createGroup posts a group; a 409 means another worker made it first.
func (c *Connector) createGroup(ctx context.Context, name string) (*Group, error) {
	body := resource{"schemas": []any{groupSchema}, "displayName": name}
	var r resource
	what := fmt.Sprintf("create group %q", name)
	status, err := c.client.do(ctx, exchange{method: http.MethodPost, path: "/Groups", body: body, what: what}, &r)
	if status == http.StatusConflict {
		return c.FindGroup(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	g := groupOf(r)
	c.log.Info().Str("group", name).Str("id", g.ID).Msg("created group")
	return &g, nil
}

func groupOf(r resource) Group {
	return Group{ID: r.id(), DisplayName: r.str("displayName"), ExternalID: r.str("externalId")}
}

// GroupMembers returns the SCIM ids of a group's members.
func (c *Connector) GroupMembers(ctx context.Context, name string) ([]string, error) {
	g, err := c.FindGroup(ctx, name)
	if err != nil || g == nil {
		return nil, err
	}
	var r struct {
		Members []struct {
			Value string `json:"value"`
		} `json:"members"`
	}
	what := fmt.Sprintf("read group %q", name)
	if _, err := c.client.do(ctx, exchange{method: http.MethodGet, path: "/Groups/" + url.PathEscape(g.ID), what: what}, &r); err != nil {
		return nil, err
	}
	ids := make([]string, len(r.Members))
	for i, m := range r.Members {
		ids[i] = m.Value
	}
	return ids, nil
}
