package ldap

import (
	"context"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/directory"
)

// deletedObjectsWKGUID is the well-known GUID of CN=Deleted Objects
// (MS-ADTS 7.1.1.4.2), valid in "<WKGUID=...,NC>" on every DC and language.
const deletedObjectsWKGUID = "18e2ea80684f11d2b9aa00c04f79f805"

// Check binds, says which change-detection method the source would use and
// why, and reports missing rights with the grant that fixes each. It only
// reads.
func (s *Source) Check(ctx context.Context) []directory.Finding {
	sess, err := s.conn.open(ctx)
	if err != nil {
		return []directory.Finding{{Severity: directory.SeverityError, Subject: "bind", Message: err.Error(),
			Fix: "check urls, tls.caFile/tls.serverName, bind.dn and bind.password (see the message)"}}
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.conn.Close() })
	defer stop()
	out := []directory.Finding{{Severity: directory.SeverityOK, Subject: "bind",
		Message: fmt.Sprintf("bound to %s (%s, %s) as %s; reading %s", sess.server, sess.flavor, orUnknown(sess.root.vendor), s.boundAs(), sess.baseDN)}}
	out = append(out, s.checkScope(ctx, sess)...)
	if sess.flavor == FlavorAD {
		return append(out, s.checkAD(sess)...)
	}
	return append(out, s.checkOpenLDAP(sess))
}

// checkScope runs the people and groups searches for one entry each: a
// base that does not exist or a filter that matches nothing is the most
// common configuration mistake, and a read would otherwise just be empty.
func (s *Source) checkScope(ctx context.Context, sess *session) []directory.Finding {
	r := newReader(sess, s)
	var out []directory.Finding
	for _, kind := range []directory.Kind{directory.KindPerson, directory.KindGroup} {
		req := r.searchRequest(kind)
		req.SizeLimit, req.Attributes, req.Controls = 1, []string{"1.1"}, nil
		res, err := sess.conn.Search(req)
		key := configKey(kind)
		subject := "scope: " + key
		switch {
		case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || (err == nil && len(res.Entries) > 0):
			out = append(out, directory.Finding{Severity: directory.SeverityOK, Subject: subject,
				Message: fmt.Sprintf("%s under %q matches entries", req.Filter, req.BaseDN)})
		case err != nil:
			out = append(out, directory.Finding{Severity: directory.SeverityError, Subject: subject,
				Message: opError{server: sess.server, op: "search " + req.Filter + " under " + req.BaseDN}.classify(err).Error(),
				Fix:     "set " + key + ".base to an existing DN the account may read"})
		default:
			out = append(out, directory.Finding{Severity: directory.SeverityWarning, Subject: subject,
				Message: fmt.Sprintf("%s under %q matches nothing the account can see: a read would deliver no %s", req.Filter, req.BaseDN, key),
				Fix:     "check " + key + ".base and " + key + ".filter, and that the account may read them"})
		}
	}
	return out
}

// configKey is the settings section of a kind: people or groups.
func configKey(kind directory.Kind) string {
	if kind == directory.KindGroup {
		return "groups"
	}
	return "people"
}

func orUnknown(s string) string {
	if s == "" {
		return "vendor not announced"
	}
	return s
}

func (s *Source) boundAs() string {
	switch s.cfg.Bind.Method {
	case BindKerberos:
		return s.cfg.Bind.Principal + "@" + s.cfg.Bind.Realm
	case BindSSPI:
		return "the service's own Windows identity (SSPI)"
	}
	return s.cfg.Bind.DN
}

func (s *Source) checkOpenLDAP(sess *session) directory.Finding {
	m, err := s.chooseMethod(sess)
	if err != nil {
		return directory.Finding{Severity: directory.SeverityError, Subject: "change detection", Message: err.Error(),
			Fix: "set changes.method to auto, syncrepl or poll"}
	}
	if m.name == MethodSyncrepl {
		return directory.Finding{Severity: directory.SeverityOK, Subject: "change detection",
			Message: "syncrepl (RFC 4533): the server announces the sync request control (syncprov overlay); deletes arrive as delete notices " +
				"while slapd's session log (syncprov-sessionlog) covers the saved cookie, otherwise (e.g. after a slapd restart) a full read runs (" + m.why + ")"}
	}
	attr, err := s.pollAttribute(sess)
	if err != nil {
		return directory.Finding{Severity: directory.SeverityError, Subject: "change detection", Message: err.Error()}
	}
	return directory.Finding{Severity: directory.SeverityWarning, Subject: "change detection",
		Message: attr + " polling every " + s.cfg.Changes.Interval.String() + " (" + m.why + "): polling cannot see deletes nor entries that left people.base or groups.base; " +
			"they are found only by the agent's scheduled full reconciliation, so a deleted person's app accounts stay active until then",
		Fix: "load the syncprov overlay on the database of " + sess.baseDN + " (olcOverlay=syncprov) and set changes.method auto, then restart dirbridge"}
}

// adAccount is the bound account's identity as check needs it for grants.
type adAccount struct {
	domain, sam, sid string // NETBIOS domain, sAMAccountName, objectSid
}

func (s *Source) checkAD(sess *session) []directory.Finding {
	acct, err := s.whoAmIAD(sess)
	if err != nil {
		return []directory.Finding{{Severity: directory.SeverityError, Subject: "account", Message: err.Error()}}
	}
	m, err := s.chooseMethod(sess)
	if err != nil {
		return []directory.Finding{{Severity: directory.SeverityError, Subject: "change detection", Message: err.Error(),
			Fix: "set changes.method to auto, dirsync or usn"}}
	}
	return []directory.Finding{checkDirSync(sess, acct, m), checkDeletedObjects(sess, acct)}
}

// whoAmIAD finds the bound account's sAMAccountName and SID (the grant
// commands need them) and the domain's NetBIOS name. Samba has no Who Am I
// extended operation (RFC 4532), so there the account is found from the
// bind name.
func (s *Source) whoAmIAD(sess *session) (adAccount, error) {
	base, scope, filter := s.ownAccountSearch(sess)
	req := goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 2, 0, false, filter, []string{"sAMAccountName", "objectSid"}, nil)
	res, err := sess.conn.Search(req)
	if err != nil || len(res.Entries) != 1 {
		return adAccount{}, fmt.Errorf("directory/ldap: %s: cannot find the bound account (%s under %q): %v", sess.server, filter, base, err)
	}
	e := res.Entries[0]
	sid, err := SIDString(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		return adAccount{}, err
	}
	return adAccount{domain: netbiosDomain(sess), sam: e.GetAttributeValue("sAMAccountName"), sid: sid}, nil
}

// ownAccountSearch turns the bind name (a DN, user@domain or DOMAIN\user,
// or the Kerberos principal) into a search for the account.
func (s *Source) ownAccountSearch(sess *session) (base string, scope int, filter string) {
	name := s.cfg.Bind.DN
	if s.cfg.Bind.Method == BindKerberos {
		name = s.cfg.Bind.Principal
	}
	// Windows DCs answer Who Am I (RFC 4532) with "u:DOMAIN\sam"; SSPI
	// binds have no name in the configuration at all.
	if res, err := sess.conn.WhoAmI(nil); err == nil && strings.HasPrefix(res.AuthzID, "u:") {
		name = strings.TrimPrefix(res.AuthzID, "u:")
	}
	if _, err := goldap.ParseDN(name); err == nil && strings.Contains(name, "=") {
		return name, goldap.ScopeBaseObject, "(objectClass=*)"
	}
	if _, sam, ok := strings.Cut(name, `\`); ok {
		return sess.root.defaultNC, goldap.ScopeWholeSubtree, "(sAMAccountName=" + goldap.EscapeFilter(sam) + ")"
	}
	sam, _, _ := strings.Cut(name, "@")
	// "sam@dnsdomain" is an implicit UPN: it binds even when userPrincipalName is unset.
	return sess.root.defaultNC, goldap.ScopeWholeSubtree,
		"(|(userPrincipalName=" + goldap.EscapeFilter(name) + ")(sAMAccountName=" + goldap.EscapeFilter(sam) + "))"
}

// netbiosDomain reads the domain's NetBIOS name from its crossRef in the
// Partitions container; dsacls wants DOMAIN\account.
func netbiosDomain(sess *session) string {
	req := goldap.NewSearchRequest("CN=Partitions,"+sess.root.configNC, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nCName="+goldap.EscapeFilter(sess.root.defaultNC)+"))", []string{"nETBIOSName"}, nil)
	res, err := sess.conn.Search(req)
	if err != nil || len(res.Entries) != 1 {
		return "DOMAIN"
	}
	return res.Entries[0].GetAttributeValue("nETBIOSName")
}

// checkDirSync reports the method Watch uses on AD and, when DirSync is
// refused without DirSyncObjectSecurity (no "Replicating Directory
// Changes" on the naming context), the grant that allows it.
func checkDirSync(sess *session, acct adAccount, m method) directory.Finding {
	nc := sess.root.defaultNC
	err := probeDirSync(sess)
	if err == nil {
		return directory.Finding{Severity: directory.SeverityOK, Subject: "change detection",
			Message: methodLabel(m) + ": " + acct.domain + `\` + acct.sam + ` holds "Replicating Directory Changes" on ` + nc + " (" + m.why + ")"}
	}
	if !goldap.IsErrorAnyOf(err, goldap.LDAPResultInsufficientAccessRights, goldap.LDAPResultUnwillingToPerform) {
		return directory.Finding{Severity: directory.SeverityError, Subject: "change detection",
			Message: "DirSync probe failed: " + opError{server: sess.server, op: "DirSync"}.classify(err).Error()}
	}
	return directory.Finding{Severity: directory.SeverityWarning, Subject: "change detection",
		Message: methodLabel(m) + ": " + acct.domain + `\` + acct.sam + ` lacks "Replicating Directory Changes" on ` + nc +
			", so DirSync is refused (LDAP 50) unless with DirSyncObjectSecurity; polling sees the same changes but costs a search per interval (" + m.why + ")",
		Fix: dirSyncGrant(nc, acct)}
}

// methodLabel names a method as check prints it.
func methodLabel(m method) string {
	switch m.name {
	case MethodDirSync:
		return "DirSync"
	case MethodUSN:
		return "uSNChanged polling"
	case MethodPoll:
		return "entryCSN polling"
	}
	return "syncrepl (RFC 4533)"
}

func dirSyncGrant(nc string, acct adAccount) string {
	return fmt.Sprintf("Windows: dsacls %q /G \"%s\\%s:CA;Replicating Directory Changes\"\n"+
		"Samba:   samba-tool dsacl set -H ldap://<dc> -U Administrator --objectdn=%q --sddl=\"(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;%s)\"",
		nc, acct.domain, acct.sam, nc, acct.sid)
}

// checkDeletedObjects lists CN=Deleted Objects with Show Deleted. By
// default only administrators may list its children, and without that
// deletes go unseen. The container itself is readable either way, so only
// tombstones prove access; an empty answer cannot tell "nothing deleted
// yet" from "not allowed" and is reported as a warning with the grant.
func checkDeletedObjects(sess *session, acct adAccount) directory.Finding {
	nc := sess.root.defaultNC
	req := goldap.NewSearchRequest("<WKGUID="+deletedObjectsWKGUID+","+nc+">", goldap.ScopeSingleLevel, goldap.NeverDerefAliases,
		1, 0, false, "(isDeleted=TRUE)", []string{"1.1"}, []goldap.Control{goldap.NewControlMicrosoftShowDeleted()})
	res, err := sess.conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		err = nil
	}
	if err == nil && len(res.Entries) > 0 {
		return directory.Finding{Severity: directory.SeverityOK, Subject: "deleted objects",
			Message: "the account lists tombstones in CN=Deleted Objects: deletes are seen"}
	}
	if err != nil && !goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject, goldap.LDAPResultInsufficientAccessRights) {
		return directory.Finding{Severity: directory.SeverityError, Subject: "deleted objects",
			Message: "probe failed: " + opError{server: sess.server, op: "list CN=Deleted Objects"}.classify(err).Error()}
	}
	dn := "CN=Deleted Objects," + nc
	return directory.Finding{Severity: directory.SeverityWarning, Subject: "deleted objects",
		Message: acct.domain + `\` + acct.sam + " sees no tombstones in " + dn + " (by default only administrators may list them; " +
			"if nothing was ever deleted the grant below is still needed): people deleted in AD are NOT seen until a full reconciliation, and their app accounts stay active until then",
		Fix: deletedObjectsGrant(dn, acct)}
}

func deletedObjectsGrant(dn string, acct adAccount) string {
	return fmt.Sprintf("Windows (as a Domain Admin): dsacls %q /takeownership && dsacls %q /G \"%s\\%s:LCRP\"\n"+
		"Samba (on the DC, offline tools see the container): printf 'dn: %s\\nchangetype: modify\\nreplace: nTSecurityDescriptor\\n"+
		"nTSecurityDescriptor: O:DAG:DAD:PAI(A;;RPWPCCDCLCRCWOWDSDSW;;;SY)(A;;RPLC;;;BA)(A;;RPLC;;;%s)"+
		"S:AI(OU;CIIOIDSA;WP;f30e3bbe-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)"+
		"(OU;CIIOIDSA;WP;f30e3bbf-9ff0-11d1-b603-0000f80367c1;bf967aa5-0de6-11d0-a285-00aa003049e2;WD)\\n' | ldbmodify -H /var/lib/samba/private/sam.ldb --show-deleted",
		dn, dn, acct.domain, acct.sam, dn, acct.sid)
}
