package mapping

import (
	"strconv"
	"strings"
)

// knownAttributes are the directory attributes an expression may name
// without declaring them: the user attributes of Active Directory and of the
// inetOrgPerson / posixAccount schemas. A name outside this list is far more
// often a typo (givnName) than a real attribute, so it is a load error unless
// the mapping declares it under `directoryAttributes`.
var knownAttributes = func() map[string]string {
	names := []string{
		// Active Directory
		"accountExpires", "badPasswordTime", "badPwdCount", "c", "cn", "co", "comment", "company",
		"countryCode", "department", "departmentNumber", "description", "displayName", "distinguishedName",
		"division", "employeeID", "employeeNumber", "employeeType", "facsimileTelephoneNumber",
		"givenName", "homeDirectory", "homePhone", "info", "initials", "ipPhone", "l", "lastLogon",
		"lastLogonTimestamp", "lockoutTime", "mail", "mailNickname", "manager", "memberOf",
		"middleName", "mobile", "mS-DS-ConsistencyGuid", "msDS-UserPasswordExpiryTimeComputed",
		"msExchHideFromAddressLists", "name", "objectCategory", "objectClass", "objectGUID", "objectSid",
		"otherMailbox", "otherMobile", "otherTelephone", "pager", "personalTitle", "physicalDeliveryOfficeName",
		"postalCode", "postOfficeBox", "preferredLanguage", "primaryGroupID", "proxyAddresses",
		"pwdLastSet", "sAMAccountName", "sAMAccountType", "sn", "st", "streetAddress", "telephoneNumber",
		"thumbnailPhoto", "title", "userAccountControl", "userPrincipalName", "uSNChanged", "uSNCreated",
		"whenChanged", "whenCreated", "wWWHomePage", "msDS-cloudExtensionAttribute1",
		// inetOrgPerson, organizationalPerson, posixAccount, OpenLDAP operational attributes
		"businessCategory", "carLicense", "createTimestamp", "destinationIndicator", "entryDN", "entryUUID",
		"gecos", "gidNumber", "homeDirectory", "loginShell", "modifyTimestamp", "o", "ou", "pwdAccountLockedTime",
		"pwdChangedTime", "roomNumber", "secretary", "shadowExpire", "street", "title", "uid", "uidNumber",
		"x500UniqueIdentifier", "nsAccountLock",
	}
	for i := 1; i <= 15; i++ {
		names = append(names, "extensionAttribute"+strconv.Itoa(i))
	}
	for i := 2; i <= 20; i++ {
		names = append(names, "msDS-cloudExtensionAttribute"+strconv.Itoa(i))
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// anchorAttributes are the attributes that may serve as the anchor written to
// apps: stable for the life of a person and unique (docs/design.md section 2.4).
var anchorAttributes = []string{"objectGUID", "entryUUID", "mS-DS-ConsistencyGuid", "employeeID", "employeeNumber"}

// attrNames returns the canonical names of known plus declared attributes,
// for suggestions.
func attrNames(declared map[string]string) []string {
	out := make([]string, 0, len(knownAttributes)+len(declared))
	for _, n := range knownAttributes {
		out = append(out, n)
	}
	for _, n := range declared {
		out = append(out, n)
	}
	return out
}
