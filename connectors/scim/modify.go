package scim

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/dirbridge/dirbridge/connectors"
)

// change is one attribute write: a path as the mapping writes it and a
// value, nil to remove. An empty path with a map value is a path-less
// replace (RFC 7644 section 3.5.2.3), Okta's form for active.
type change struct {
	path  string
	value any
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

func (c *Connector) patchBody(changes []change) patchRequest {
	ops := make([]patchOp, 0, len(changes))
	for _, ch := range changes {
		op := patchOp{Op: c.s.profile.op("replace"), Path: ch.path, Value: ch.value}
		if ch.value == nil {
			op = patchOp{Op: c.s.profile.op("remove"), Path: ch.path}
		}
		ops = append(ops, op)
	}
	return patchRequest{Schemas: []string{patchOpSchema}, Operations: ops}
}

// modify writes changes to user id: a PATCH of exactly those paths, or a
// GET-merge-PUT where PATCH is not supported. It returns the resource as
// the server answered, nil when it answered 204.
func (c *Connector) modify(ctx context.Context, id, what string, changes []change) (resource, error) {
	patch, err := c.usePatch(ctx, changes)
	if err != nil {
		return nil, err
	}
	if !patch {
		return c.mergePut(ctx, id, what, changes)
	}
	var out resource
	_, err = c.client.do(ctx, exchange{method: http.MethodPatch, path: userPath(id), body: c.patchBody(changes), what: what}, &out)
	if err != nil && isNoTarget(err) {
		// RFC 7644 section 3.5.2.3: replace through a filter that matches no
		// element is "noTarget"; add the element instead.
		_, err = c.client.do(ctx, exchange{method: http.MethodPatch, path: userPath(id), body: c.addBody(changes), what: what}, &out)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func isNoTarget(err error) bool {
	class, _ := connectors.ClassOf(err)
	return class == connectors.Permanent && connectors.CodeOf(err) == "400 noTarget"
}

// addBody rewrites filtered replaces as adds of a whole element.
func (c *Connector) addBody(changes []change) patchRequest {
	body := c.patchBody(changes)
	for i, ch := range changes {
		p, err := parsePath(ch.path)
		if err != nil || p.fAttr == "" || ch.value == nil {
			continue
		}
		el := map[string]any{p.fAttr: p.fValue}
		p.setElement(el, ch.value)
		path := p.attr
		if p.urn != "" {
			path = p.urn + ":" + p.attr
		}
		body.Operations[i] = patchOp{Op: c.s.profile.op("add"), Path: path, Value: []any{el}}
	}
	return body
}

// mergePut reads the user, applies changes and writes it back whole, so
// attributes the mapping does not cover survive.
func (c *Connector) mergePut(ctx context.Context, id, what string, changes []change) (resource, error) {
	cur, err := c.getUser(ctx, id, what)
	if err != nil {
		return nil, err
	}
	if err := mergeChanges(cur, changes); err != nil {
		return nil, connectors.Errorf(connectors.Permanent, "", "scim: %s: %w", what, err)
	}
	x := exchange{method: http.MethodPut, path: userPath(id), body: cur, what: what, ifMatch: c.version(ctx, cur)}
	delete(cur, "meta") // read-only (RFC 7643 section 3.1); some servers refuse it
	var out resource
	if _, err := c.client.do(ctx, x, &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return cur, nil
	}
	return out, nil
}

// version returns the resource's ETag when the server supports them, so
// the PUT is conditional (RFC 7644 section 3.14): an edit made in the app
// between our GET and PUT fails with 412 (Retryable) instead of being
// overwritten.
func (c *Connector) version(ctx context.Context, r resource) string {
	if spc, err := c.Discover(ctx); err != nil || !spc.ETag.Supported {
		return ""
	}
	meta, _ := r["meta"].(map[string]any)
	v, _ := meta["version"].(string)
	return v
}

func mergeChanges(doc resource, changes []change) error {
	for _, ch := range changes {
		if ch.path == "" {
			vm, _ := ch.value.(map[string]any)
			for k, v := range vm {
				doc[k] = v
			}
			continue
		}
		p, err := parsePath(ch.path)
		if err != nil {
			return err
		}
		p.set(doc, ch.value)
	}
	return nil
}

func userPath(id string) string { return "/Users/" + url.PathEscape(id) }

// getUser reads one user; a missing one is connectors.NotFound.
func (c *Connector) getUser(ctx context.Context, id, what string) (resource, error) {
	var r resource
	if _, err := c.client.do(ctx, exchange{method: http.MethodGet, path: userPath(id), what: what}, &r); err != nil {
		return nil, err
	}
	if r.id() == "" {
		return nil, connectors.Errorf(connectors.Retryable, "", "scim: %s: answer has no id: %w", what, errMalformed)
	}
	return r, nil
}

// findUsers runs `attr eq "value"` (RFC 7644 section 3.4.2.2).
func (c *Connector) findUsers(ctx context.Context, attr, value, what string) ([]resource, error) {
	q := url.Values{"filter": {attr + " eq " + quoteFilterValue(value)}}
	var page listResponse
	if _, err := c.client.do(ctx, exchange{method: http.MethodGet, path: "/Users", query: q, what: what}, &page); err != nil {
		return nil, err
	}
	return page.Resources, nil
}

func isNotFound(err error) bool {
	class, _ := connectors.ClassOf(err)
	return err != nil && class == connectors.NotFound
}

var errGone = errors.New("account not found")
