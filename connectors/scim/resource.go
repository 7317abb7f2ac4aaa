package scim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
)

const (
	userSchema     = "urn:ietf:params:scim:schemas:core:2.0:User"  // RFC 7643 section 4.1
	groupSchema    = "urn:ietf:params:scim:schemas:core:2.0:Group" // RFC 7643 section 4.2
	patchOpSchema  = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	listRespSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
)

// resource is a SCIM resource document as the server sent it; kept as a
// map so a GET-merge-PUT returns every attribute we do not map untouched.
type resource map[string]any

func (r resource) str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r resource) id() string { return r.str("id") }

// active reads "active"; a missing value means active (RFC 7643 section
// 4.1.1 gives no default, and servers that omit it do not deactivate).
// Some servers send the string "False" (Entra's own habit).
func (r resource) active() bool {
	switch v := r["active"].(type) {
	case bool:
		return v
	case string:
		return !strings.EqualFold(v, "false")
	}
	return true
}

// workEmail returns the work email, else the primary one, else the first.
func (r resource) workEmail() string {
	list, _ := r["emails"].([]any)
	var primary, first string
	for _, el := range list {
		m, _ := el.(map[string]any)
		v, _ := m["value"].(string)
		switch {
		case m["type"] == "work":
			return v
		case m["primary"] == true && primary == "":
			primary = v
		case first == "":
			first = v
		}
	}
	if primary != "" {
		return primary
	}
	return first
}

// account is how dirbridge records the resource.
func (r resource) account(p Profile) connectors.Account {
	a := connectors.Account{ExternalID: r.id(), UserName: r.str("userName"), Anchor: r.str("externalId"),
		Status: connectors.StatusActive, Email: r.workEmail()}
	if p.SuspendAttribute != "" {
		if sp, err := parsePath(p.SuspendAttribute); err == nil && sp.get(r) == true {
			a.Status = connectors.StatusFrozen
			return a
		}
	}
	if !r.active() {
		a.Status = connectors.StatusDeactivated
	}
	return a
}

// userDocument builds the full resource for a POST (or the mapped part of a
// PUT) from the desired user (RFC 7643 section 4.1).
func userDocument(u connectors.User, p Profile) (resource, error) {
	doc := resource{"schemas": []any{userSchema}, "userName": u.UserName}
	if u.Anchor != "" {
		doc["externalId"] = u.Anchor
	}
	if err := applyAttributes(doc, u.Attributes, sortedKeys(u.Attributes)); err != nil {
		return nil, err
	}
	doc["active"] = u.Active
	if err := applyFrozen(doc, u, p); err != nil {
		return nil, err
	}
	return doc, nil
}

// applyFrozen records Frozen: the suspend attribute, or active=false.
func applyFrozen(doc resource, u connectors.User, p Profile) error {
	if p.SuspendAttribute == "" {
		if u.Frozen {
			doc["active"] = false
		}
		return nil
	}
	sp, err := parsePath(p.SuspendAttribute)
	if err != nil {
		return fmt.Errorf("suspendAttribute: %w", err)
	}
	sp.set(doc, u.Frozen)
	return nil
}

func applyAttributes(doc resource, attrs map[string]any, paths []string) error {
	for _, k := range paths {
		p, err := parsePath(k)
		if err != nil {
			return err
		}
		if isReserved(p) {
			continue
		}
		p.set(doc, attrs[k])
	}
	return nil
}

// isReserved: these are written from User's own fields (UserName, Anchor,
// Active, Groups) and skipped in the attribute map, so a mapping that lists
// userName for clarity is harmless and none can overwrite the anchor.
func isReserved(p attrPath) bool {
	if p.urn != "" {
		return false
	}
	switch strings.ToLower(p.attr) {
	case "id", "externalid", "username", "active", "meta", "schemas", "groups":
		return true
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// listResponse is a page of a query (RFC 7644 section 3.4.2).
type listResponse struct {
	TotalResults int        `json:"totalResults"`
	StartIndex   int        `json:"startIndex"`
	ItemsPerPage int        `json:"itemsPerPage"`
	Resources    []resource `json:"Resources"`
}
