package ldap

import (
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// OIDs read from the rootDSE.
const (
	oidADCapability  = "1.2.840.113556.1.4.800"   // LDAP_CAP_ACTIVE_DIRECTORY_OID
	oidSyncRequest   = "1.3.6.1.4.1.4203.1.9.1.1" // RFC 4533 syncrepl (OpenLDAP syncprov)
	oidDirSync       = "1.2.840.113556.1.4.841"
	oidShowDeleted   = "1.2.840.113556.1.4.417"
	oidNotification  = "1.2.840.113556.1.4.528"
	oidPagedResults  = "1.2.840.113556.1.4.319"
	oidMatchingChain = "1.2.840.113556.1.4.1941" // LDAP_MATCHING_RULE_IN_CHAIN
)

// rootDSE is what the server says about itself before any search.
type rootDSE struct {
	capabilities        []string
	controls            []string
	namingContexts      []string
	defaultNC           string
	configNC            string
	dsServiceName       string // AD: DN of the DC's NTDS Settings (per-DC watermarks)
	highestCommittedUSN string // AD: the USN watermark at the time of reading
	vendor              string
}

var rootDSEAttrs = []string{
	"supportedCapabilities", "supportedControl", "namingContexts", "defaultNamingContext", "configurationNamingContext",
	"dsServiceName", "highestCommittedUSN", "vendorName", "vendorVersion",
}

func readRootDSE(conn *goldap.Conn) (rootDSE, error) {
	req := goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", rootDSEAttrs, nil)
	res, err := conn.Search(req)
	if err != nil {
		return rootDSE{}, err
	}
	if len(res.Entries) != 1 {
		return rootDSE{}, fmt.Errorf("rootDSE: got %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	return rootDSE{
		capabilities:        e.GetAttributeValues("supportedCapabilities"),
		controls:            e.GetAttributeValues("supportedControl"),
		namingContexts:      e.GetAttributeValues("namingContexts"),
		defaultNC:           e.GetAttributeValue("defaultNamingContext"),
		configNC:            e.GetAttributeValue("configurationNamingContext"),
		dsServiceName:       e.GetAttributeValue("dsServiceName"),
		highestCommittedUSN: e.GetAttributeValue("highestCommittedUSN"),
		vendor:              strings.TrimSpace(e.GetAttributeValue("vendorName") + " " + e.GetAttributeValue("vendorVersion")),
	}, nil
}

func (r rootDSE) isAD() bool               { return slices.Contains(r.capabilities, oidADCapability) }
func (r rootDSE) supports(oid string) bool { return slices.Contains(r.controls, oid) }

// describe reads the rootDSE and resolves the flavor and base DN.
func (s *session) describe(cfg *Config) error {
	oe := opError{server: s.server, bindDN: cfg.Bind.DN, op: "read rootDSE"}
	root, err := readRootDSE(s.conn)
	if err != nil {
		return oe.classify(err)
	}
	s.root = root
	s.flavor = cfg.Flavor
	if s.flavor == FlavorAuto {
		s.flavor = FlavorOpenLDAP
		if root.isAD() {
			s.flavor = FlavorAD
		}
	}
	s.baseDN = cfg.BaseDN
	if s.baseDN == "" {
		s.baseDN = root.defaultNC
	}
	if s.baseDN == "" && len(root.namingContexts) == 1 {
		s.baseDN = root.namingContexts[0]
	}
	if s.baseDN == "" {
		return fmt.Errorf("directory/ldap: %s serves naming contexts %q and none is the default: set baseDN", s.server, root.namingContexts)
	}
	return nil
}
