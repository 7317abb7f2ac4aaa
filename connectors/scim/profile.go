package scim

import (
	"fmt"
	"sort"
)

// DeactivateMode says how a provider deactivates an account.
type DeactivateMode string

const (
	// DeactivatePatchActive sends PATCH active=false (RFC 7643 section 4.1.1).
	DeactivatePatchActive DeactivateMode = "patch-active"
	// DeactivateDelete sends DELETE, which Slack-style providers treat as
	// deactivation (the account stays, active=false).
	DeactivateDelete DeactivateMode = "delete"
	// DeactivateNone leaves the account alone: the provider cannot deactivate.
	DeactivateNone DeactivateMode = "none"
	// DeactivateDeleteOnInactive is for providers that delete the account on
	// active=false: a later Activate or Reactivate can only re-create it.
	DeactivateDeleteOnInactive DeactivateMode = "delete-on-inactive"
)

func (m DeactivateMode) valid() bool {
	switch m {
	case DeactivatePatchActive, DeactivateDelete, DeactivateNone, DeactivateDeleteOnInactive:
		return true
	}
	return false
}

// MemberRemoval says how a member is removed from a group.
type MemberRemoval int

const (
	// RemoveByFilterPath sends one op per member with path
	// `members[value eq "id"]` (RFC 7644 section 3.5.2.2).
	RemoveByFilterPath MemberRemoval = iota
	// RemoveByValueList sends path "members" with a value list, as Slack and
	// Entra do.
	RemoveByValueList
)

// Profile is a provider's SCIM dialect.
type Profile struct {
	Name       string
	Deactivate DeactivateMode
	// SuspendAttribute is set true on Freeze; "" freezes with active=false.
	SuspendAttribute string
	MemberRemoval    MemberRemoval
	// MemberChunk caps the members sent in one PATCH.
	MemberChunk int
	// PathlessActive sends `{"op":"replace","value":{"active":false}}`, the
	// form Okta uses, instead of path "active".
	PathlessActive bool
	// CapitalizedOps sends "Add", "Replace", "Remove" as Entra does; RFC 7644
	// section 3.5.2 makes op names case-insensitive but some servers are not.
	CapitalizedOps bool
	// PreferPut updates by GET-merge-PUT even when PATCH is advertised
	// (Okta-integrated apps often implement PUT only).
	PreferPut bool
}

var profiles = map[string]Profile{
	"generic": {Name: "generic", Deactivate: DeactivatePatchActive, MemberRemoval: RemoveByFilterPath, MemberChunk: 100},
	// Slack: DELETE /Users/{id} deactivates; members are removed by value list;
	// group PATCHes are limited to 15,000 members, we stay far below.
	"slack": {Name: "slack", Deactivate: DeactivateDelete, MemberRemoval: RemoveByValueList, MemberChunk: 100},
	// Okta-integrated apps: profile updates by PUT, deactivation by a
	// path-less PATCH, removal by filter path.
	"okta": {Name: "okta", Deactivate: DeactivatePatchActive, MemberRemoval: RemoveByFilterPath, MemberChunk: 100,
		PathlessActive: true, PreferPut: true},
	// Entra-style: capitalized ops, value-list removal; Entra itself sends at
	// most 1,000 members per PATCH, many apps accept far fewer, so 100.
	"entra": {Name: "entra", Deactivate: DeactivatePatchActive, MemberRemoval: RemoveByValueList, MemberChunk: 100,
		CapitalizedOps: true},
}

// LookupProfile returns the named profile.
func LookupProfile(name string) (Profile, error) {
	if name == "" {
		name = "generic"
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (known: %v)", name, profileNames())
	}
	return p, nil
}

func profileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// op returns the PATCH op name in the profile's casing.
func (p Profile) op(name string) string {
	if !p.CapitalizedOps {
		return name
	}
	return string(name[0]-'a'+'A') + name[1:]
}
