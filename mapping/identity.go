package mapping

// identityField is one key of the identity section, in evaluation order:
// protected first (it is evaluated even for people out of scope, so the agent
// never touches a protected account leaving scope), then the anchor, the
// texts and the states. Each expression may read the fields before it.
type identityField struct {
	name   string
	isBool bool
	slot   int // index in state.strs or state.bools
}

const (
	numIdentityStrings = 6
	numIdentityBools   = 3
)

// Slots, named for the evaluator.
const (
	slotUserName, slotGivenName, slotFamilyName, slotDisplayName, slotEmail, slotAnchor = 0, 1, 2, 3, 4, 5
	slotProtected, slotActive, slotFrozen                                               = 0, 1, 2
)

var identityFields = []identityField{
	{"protected", true, slotProtected},
	{"anchor", false, slotAnchor},
	{"userName", false, slotUserName},
	{"givenName", false, slotGivenName},
	{"familyName", false, slotFamilyName},
	{"displayName", false, slotDisplayName},
	{"email", false, slotEmail},
	{"active", true, slotActive},
	{"frozen", true, slotFrozen},
}

func identityFieldIndex(name string) int {
	for i, f := range identityFields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func identityFieldNames() []string {
	out := make([]string, len(identityFields))
	for i, f := range identityFields {
		out[i] = f.name
	}
	return out
}

// Defaults when the identity section leaves a key out. active follows AD's
// disabled bit and account expiry; both read "" (not disabled, never expires)
// on an LDAP directory, so the default is right there too.
var identityDefaults = map[string]string{
	"protected": "false",
	"active":    "not adDisabled(userAccountControl) and not accountExpired(accountExpires)",
	"frozen":    "false",
}
