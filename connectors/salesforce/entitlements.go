package salesforce

import (
	"context"
	"slices"
	"strings"

	"github.com/dirbridge/dirbridge/connectors"
)

// pslPrefix is the key prefix of PermissionSetLicense ids. A permission
// set's LicenseId is either a UserLicense (prefix 100, carried by the
// profile) or a PermissionSetLicense, which must be assigned to the user
// before the permission set can be.
const pslPrefix = "0PL"

// grantDiff is the permission sets (or groups) to assign and to remove, by
// API name, computed from Desired against Confirmed.
type grantDiff struct{ add, remove []string }

func (g grantDiff) empty() bool { return len(g.add) == 0 && len(g.remove) == 0 }

// diffGrants: adoption and creation assign everything desired; an Update
// or a Reactivate assigns what is new since the org last acknowledged and
// removes what is gone.
func diffGrants(j *job) grantDiff {
	switch j.req.Op {
	case connectors.OpCreate, connectors.OpUpdate, connectors.OpReactivate:
	default:
		return grantDiff{}
	}
	var confirmed []string
	if j.req.Confirmed != nil && !j.create {
		confirmed = j.req.Confirmed.PermissionSets
	}
	var g grantDiff
	for _, n := range dedupe(j.req.Desired.PermissionSets) {
		if !slices.Contains(confirmed, n) {
			g.add = append(g.add, n)
		}
	}
	for _, n := range dedupe(confirmed) {
		if !slices.Contains(j.req.Desired.PermissionSets, n) {
			g.remove = append(g.remove, n)
		}
	}
	return g
}

// needsProfile reports whether the User record written for j carries the
// profile: always when the user is created, adopted or reactivated, on an
// Update only when the profile changed.
func needsProfile(j *job) bool {
	d := j.req.Desired
	switch j.req.Op {
	case connectors.OpCreate, connectors.OpReactivate:
		return d.Profile != ""
	case connectors.OpUpdate:
		return d.Profile != "" && (j.req.Confirmed == nil || j.req.Confirmed.Profile != d.Profile)
	}
	return false
}

// resolve turns profile and permission set names into ids, from the cache
// or with one query per kind for the names not seen before. An unknown name
// to assign fails the request (the mapping names something the org lacks);
// an unknown name to remove is already gone.
// A failed catalogue query fails only the requests that need a name
// resolved: a Deactivate or a Freeze in the same batch goes on.
func (c *Connector) resolve(ctx context.Context, jobs []*job) {
	var profiles, grants []string
	var needing []*job
	for _, j := range pick(jobs, func(*job) bool { return true }) {
		j.grants = diffGrants(j)
		if needsProfile(j) {
			profiles = append(profiles, j.req.Desired.Profile)
		}
		grants = append(append(grants, j.grants.add...), j.grants.remove...)
		if needsProfile(j) || !j.grants.empty() {
			needing = append(needing, j)
		}
	}
	err := c.loadProfiles(ctx, profiles)
	if err == nil {
		err = c.loadGrants(ctx, grants)
	}
	if err != nil {
		failAll(needing, err)
		return
	}
	for _, j := range needing {
		c.applyResolved(j)
	}
}

func (c *Connector) applyResolved(j *job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if needsProfile(j) {
		id, ok := c.profiles[j.req.Desired.Profile]
		if !ok {
			j.fail(connectors.Errorf(connectors.Permanent, "", "no profile named %q in the org", j.req.Desired.Profile))
			return
		}
		j.profileID = id
	}
	for _, n := range j.grants.add {
		if _, ok := c.grants[n]; !ok {
			j.fail(connectors.Errorf(connectors.Permanent, "", "no permission set or permission set group named %q in the org", n))
			return
		}
	}
}

// missing returns the names not in the cache.
func (c *Connector) missing(names []string, known func(string) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range dedupe(names) {
		if !known(n) {
			out = append(out, n)
		}
	}
	return out
}

type namedRecord struct {
	ID            string `json:"Id"`
	Name          string `json:"Name"`
	DeveloperName string `json:"DeveloperName"`
	LicenseID     string `json:"LicenseId"`
}

func (c *Connector) loadProfiles(ctx context.Context, names []string) error {
	todo := c.missing(names, func(n string) bool { _, ok := c.profiles[n]; return ok })
	for _, chunk := range chunks(todo, maxCollection) {
		rows, err := queryAll[namedRecord](ctx, c.client, "SELECT Id, Name FROM Profile WHERE Name IN "+inList(chunk))
		if err != nil {
			return err
		}
		c.mu.Lock()
		for _, r := range rows {
			c.profiles[r.Name] = r.ID
		}
		c.mu.Unlock()
	}
	return nil
}

// loadGrants resolves permission set API names, then permission set group
// developer names for what is left: the mapping lists both the same way.
func (c *Connector) loadGrants(ctx context.Context, names []string) error {
	known := func(n string) bool { _, ok := c.grants[n]; return ok }
	for _, chunk := range chunks(c.missing(names, known), maxCollection) {
		rows, err := queryAll[namedRecord](ctx, c.client,
			"SELECT Id, Name, LicenseId FROM PermissionSet WHERE IsOwnedByProfile = false AND Name IN "+inList(chunk))
		if err != nil {
			return err
		}
		c.cacheGrants(rows, false)
	}
	for _, chunk := range chunks(c.missing(names, known), maxCollection) {
		rows, err := queryAll[namedRecord](ctx, c.client,
			"SELECT Id, DeveloperName FROM PermissionSetGroup WHERE DeveloperName IN "+inList(chunk))
		if err != nil {
			return err
		}
		c.cacheGrants(rows, true)
	}
	return nil
}

func (c *Connector) cacheGrants(rows []namedRecord, group bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range rows {
		t := grantTarget{ID: r.ID, Group: group}
		if strings.HasPrefix(r.LicenseID, pslPrefix) {
			t.LicenseID = r.LicenseID
		}
		name := r.Name
		if group {
			name = r.DeveloperName
		}
		c.grants[name] = t
	}
}

func (c *Connector) grant(name string) (grantTarget, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.grants[name]
	return t, ok
}
