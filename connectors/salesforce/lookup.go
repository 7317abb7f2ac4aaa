package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
)

// sfUser is the part of a User record the connector reads.
type sfUser struct {
	ID       string
	Username string
	Email    string
	Anchor   string
	IsActive bool
}

// userFields is the SELECT list for users; the anchor field is configured.
func (c *Connector) userFields() string {
	return "Id, Username, Email, IsActive, " + c.cfg.AnchorField
}

func (c *Connector) decodeUser(raw json.RawMessage) (*sfUser, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode User: %w", err)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	active, _ := m["IsActive"].(bool)
	return &sfUser{ID: str("Id"), Username: str("Username"), Email: str("Email"),
		Anchor: str(c.cfg.AnchorField), IsActive: active}, nil
}

// usersWhere returns the users whose field is one of values, keyed by it.
func (c *Connector) usersWhere(ctx context.Context, field string, values []string) (map[string]*sfUser, error) {
	found := map[string]*sfUser{}
	for _, chunk := range chunks(dedupe(values), maxCollection) {
		soql := "SELECT " + c.userFields() + " FROM User WHERE " + field + " IN " + inList(chunk)
		err := c.client.query(ctx, soql, func(raw json.RawMessage) error {
			u, err := c.decodeUser(raw)
			if err != nil {
				return err
			}
			found[userKey(field, u)] = u
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

var sfIDRe = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

// userKey is what a user found by field is matched back with. Usernames
// compare without regard to case, as Salesforce compares them.
func userKey(field string, u *sfUser) string {
	switch field {
	case "Id":
		return idKey(u.ID)
	case "Username":
		return strings.ToLower(u.Username)
	default:
		return u.Anchor
	}
}

// idKey is the 15-character, case-sensitive form of a Salesforce id: the
// 18-character form only appends a checksum, and a link stored from an
// older export may have either.
func idKey(id string) string {
	if len(id) > 15 {
		return id[:15]
	}
	return id
}

// lookup finds each request's account: by the stored link, else by the
// anchor, else (Create only) by username. Because every request is looked up
// before anything is written, a Create retried after a timeout adopts the
// user its first attempt made instead of posting a second one.
func (c *Connector) lookup(ctx context.Context, jobs []*job) {
	if err := c.lookupByLink(ctx, jobs); err != nil {
		failAll(jobs, err)
		return
	}
	if err := c.lookupByAnchor(ctx, jobs); err != nil {
		failAll(jobs, err)
		return
	}
	if err := c.lookupByUsername(ctx, jobs); err != nil {
		failAll(jobs, err)
		return
	}
	for _, j := range jobs {
		if j.live() && j.user == nil && !j.create {
			j.fail(connectors.Errorf(connectors.NotFound, "", "no user with Id %q or %s %q",
				j.req.Account.ExternalID, c.cfg.AnchorField, j.req.Desired.Anchor))
		}
	}
	if err := c.lookupLogins(ctx, jobs); err != nil {
		failAll(jobs, err)
	}
}

// lookupByLink skips a stored link that is not a Salesforce id (15 or 18
// characters): the org fails the whole query on one malformed id ("invalid
// ID field"), and such a link cannot name a user, so the anchor decides.
func (c *Connector) lookupByLink(ctx context.Context, jobs []*job) error {
	pending := pick(jobs, func(j *job) bool { return sfIDRe.MatchString(j.req.Account.ExternalID) })
	found, err := c.usersWhere(ctx, "Id", keys(pending, func(j *job) string { return j.req.Account.ExternalID }))
	for _, j := range pending {
		j.user = found[idKey(j.req.Account.ExternalID)]
	}
	return err
}

func (c *Connector) lookupByAnchor(ctx context.Context, jobs []*job) error {
	pending := pick(jobs, func(j *job) bool { return j.user == nil && j.req.Desired.Anchor != "" })
	found, err := c.usersWhere(ctx, c.cfg.AnchorField, keys(pending, func(j *job) string { return j.req.Desired.Anchor }))
	for _, j := range pending {
		j.user = found[j.req.Desired.Anchor]
	}
	return err
}

// lookupByUsername links a Create to a user with its username only when
// that user carries no anchor: one that carries another person's anchor is a
// conflict, never adopted (a re-hire must not inherit a leaver's account).
func (c *Connector) lookupByUsername(ctx context.Context, jobs []*job) error {
	pending := pick(jobs, func(j *job) bool { return j.user == nil && j.req.Op == connectors.OpCreate })
	found, err := c.usersWhere(ctx, "Username", keys(pending, c.username))
	if err != nil {
		return err
	}
	for _, j := range pending {
		u := found[strings.ToLower(c.username(j))]
		switch {
		case u == nil:
			j.create = true
		case u.Anchor == "":
			j.user = u
		default:
			j.fail(connectors.Errorf(connectors.Conflict, "", "user %s with username %q carries %s %q, not %q",
				u.ID, u.Username, c.cfg.AnchorField, u.Anchor, j.req.Desired.Anchor))
		}
	}
	return nil
}

// loginRecord is a UserLogin row: where Salesforce keeps the frozen flag.
type loginRecord struct {
	ID       string `json:"Id"`
	UserID   string `json:"UserId"`
	IsFrozen bool   `json:"IsFrozen"`
}

func (c *Connector) lookupLogins(ctx context.Context, jobs []*job) error {
	pending := pick(jobs, func(j *job) bool { return j.user != nil })
	ids := keys(pending, func(j *job) string { return j.user.ID })
	logins := map[string]loginRecord{}
	for _, chunk := range chunks(dedupe(ids), maxCollection) {
		rows, err := queryAll[loginRecord](ctx, c.client, "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN "+inList(chunk))
		if err != nil {
			return err
		}
		for _, r := range rows {
			logins[r.UserID] = r
		}
	}
	for _, j := range pending {
		l := logins[j.user.ID]
		j.loginID, j.frozen = l.ID, l.IsFrozen
	}
	return nil
}

// username is the Username the org should have: the mapped userName plus
// the sandbox suffix.
func (c *Connector) username(j *job) string { return j.req.Desired.UserName + c.cfg.UsernameSuffix }

func pick(jobs []*job, keep func(*job) bool) []*job {
	var out []*job
	for _, j := range jobs {
		if j.live() && keep(j) {
			out = append(out, j)
		}
	}
	return out
}

func keys(jobs []*job, key func(*job) string) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = key(j)
	}
	return out
}

func dedupe(values []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func chunks(values []string, n int) [][]string {
	var out [][]string
	for start := 0; start < len(values); start += n {
		out = append(out, values[start:min(start+n, len(values))])
	}
	return out
}
