package ldap

import (
	"errors"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"
)

// method is the change-detection method chosen for one session, and why.
type method struct {
	name string // MethodDirSync, MethodUSN, MethodSyncrepl or MethodPoll
	why  string
	// dirSyncFlags (AD DirSync): DirSyncObjectSecurity when the account
	// lacks "Replicating Directory Changes", always incremental values.
	dirSyncFlags int64
}

// chooseMethod resolves changes.method for the server of sess. auto takes:
//   - AD: DirSync when the account holds "Replicating Directory Changes"
//     (a DirSync probe without DirSyncObjectSecurity succeeds), otherwise
//     uSNChanged polling. auto does not fall back to DirSyncObjectSecurity:
//     with it the DC returns only what the account can read at the time of
//     the round (MS-ADTS 3.1.1.3.4.1.3), so it sees no more than polling
//     does, and polling keeps whole entries (no partial merge) and a
//     watermark that is readable in logs. method: dirsync uses the flag.
//   - OpenLDAP: syncrepl when the server announces the sync request
//     control (syncprov), otherwise entryCSN polling.
func (s *Source) chooseMethod(sess *session) (method, error) {
	m, err := s.resolveMethod(sess)
	if err != nil {
		return m, err
	}
	m.dirSyncFlags = goldap.DirSyncIncrementalValues
	if m.name == MethodDirSync && probeDirSync(sess) != nil {
		m.dirSyncFlags |= goldap.DirSyncObjectSecurity
		m.why += "; without \"Replicating Directory Changes\", so with DirSyncObjectSecurity (only what the account may read)"
	}
	s.log.Info().Str("server", sess.server).Str("method", m.name).Str("why", m.why).Msg("change detection method")
	return m, nil
}

func (s *Source) resolveMethod(sess *session) (method, error) {
	want := s.cfg.Changes.Method
	ad := sess.flavor == FlavorAD
	switch {
	case want == MethodAuto && ad:
		if err := probeDirSync(sess); err != nil {
			return method{name: MethodUSN, why: "auto: the account lacks \"Replicating Directory Changes\" (DirSync probe: " + err.Error() + ")"}, nil
		}
		return method{name: MethodDirSync, why: "auto: the account holds \"Replicating Directory Changes\""}, nil
	case want == MethodAuto && probeSyncrepl(sess) == nil:
		return method{name: MethodSyncrepl, why: "auto: " + sess.baseDN + " answers syncrepl (RFC 4533, syncprov)"}, nil
	case want == MethodAuto:
		return method{name: MethodPoll, why: "auto: " + sess.baseDN + " does not answer syncrepl (" + probeSyncrepl(sess).Error() + ")"}, nil
	case ad != (want == MethodDirSync || want == MethodUSN):
		return method{}, fmt.Errorf("directory/ldap: changes.method %s does not apply to %s (%s)", want, sess.server, sess.flavor)
	case want == MethodSyncrepl:
		if err := probeSyncrepl(sess); err != nil {
			return method{}, fmt.Errorf("directory/ldap: changes.method syncrepl, but %s does not offer it on %s: %w", sess.server, sess.baseDN, err)
		}
	}
	return method{name: want, why: "configured (changes.method)"}, nil
}

// probeSyncrepl runs a refreshOnly sync search of the base entry alone.
// The rootDSE lists the sync request control when any database has the
// syncprov overlay (slapd's own cn=accesslog, say); only a search of this
// base shows that this database has it.
func probeSyncrepl(sess *session) error {
	if !sess.root.supports(oidSyncRequest) {
		return errors.New("the server does not announce the sync request control (no syncprov overlay)")
	}
	req := goldap.NewSearchRequest(sess.baseDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, []goldap.Control{goldap.NewControlSyncRequest(goldap.SyncRequestModeRefreshOnly, nil, false)})
	_, err := sess.conn.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return fmt.Errorf("no syncprov overlay on this database: %w", err)
	}
	return nil
}

// probeDirSync asks for one entry with DirSync and no flags, which AD
// allows only to holders of "Replicating Directory Changes" on the naming
// context (result 50 otherwise). The size limit keeps a permitted probe
// from returning a whole round.
func probeDirSync(sess *session) error {
	req := goldap.NewSearchRequest(sess.root.defaultNC, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=domain)", []string{"objectGUID"}, nil)
	_, err := sess.conn.DirSync(req, 0, 1, nil)
	if err == nil || goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil
	}
	return err
}
