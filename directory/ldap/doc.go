// Package ldap is the directory source for Active Directory (and Samba AD)
// and LDAP servers such as OpenLDAP, registered as source type "ldap".
//
// It reads people and groups with a streamed paged search (one page in
// memory at a time; a read is complete only when the last page returns an
// empty cookie), keys every entry by objectGUID (AD) or entryUUID (LDAP) in
// canonical lower-case form, and gives groups their direct members as IDs:
// on AD through the extended-DN control with ranged retrieval of large
// groups, elsewhere by resolving member DNs to entryUUID. AD people carry
// their primary group (primaryGroupID), which AD never lists as a member.
// Nested membership is resolved by the agent's store from these edges.
//
// A complete configuration (the `directory:` section of the agent file):
//
//	directory:
//	  type: ldap
//	  settings:
//	    # Tried in order; the first that answers is used (failover).
//	    urls: [ldaps://dc1.corp.example:636, ldaps://dc2.corp.example:636]
//	    tls:
//	      mode: ldaps                  # ldaps | starttls | none; default: ldaps, starttls for ldap:// URLs
//	      caFile: /etc/dirbridge/corp-ca.pem   # default: the system roots
//	      serverName: ""               # name checked in the certificate; default: each URL's host
//	      insecureSkipVerify: false    # lab only, logged as a warning at every connect
//	    allowPlain: false              # must be true for tls.mode none (clear-text bind)
//	    bind:
//	      method: simple               # simple | kerberos | sspi (Windows: the service's own identity)
//	      dn: svc-dirbridge@corp.example      # a DN, user@domain or DOMAIN\user
//	      password: ${env:DIRBRIDGE_LDAP_PASSWORD}   # or ${file:/path}; never a literal in production
//	      # kerberos instead (keytab; see "Kerberos" below):
//	      # method: kerberos
//	      # principal: svc-dirbridge
//	      # realm: CORP.EXAMPLE
//	      # keytab: /etc/dirbridge/svc-dirbridge.keytab
//	      # krb5Conf: /etc/krb5.conf
//	      # spn: ldap/dc1.corp.example   # default ldap/<host of the URL>
//	    flavor: auto                   # ad | openldap | auto (rootDSE capability 1.2.840.113556.1.4.800)
//	    baseDN: DC=corp,DC=example     # default: the rootDSE's defaultNamingContext
//	    people:
//	      base: OU=Staff,DC=corp,DC=example   # default: baseDN
//	      filter: (&(objectCategory=person)(objectClass=user))   # default per flavor
//	    groups:
//	      base: OU=Groups,DC=corp,DC=example
//	      filter: (objectClass=group)
//	      memberAttribute: member      # LDAP only: member | uniqueMember
//	      rangeSize: 0                 # AD: 0 lets the DC cut ranges (1,500 values on Windows)
//	    pageSize: 500                  # AD's MaxPageSize is 1000
//	    timeouts:
//	      dial: 10s                    # TCP connect and TLS handshake
//	      request: 2m                  # one LDAP request (one page)
//	    reconnect:
//	      attempts: 3                  # rounds over all URLs before the error goes to the agent
//	      backoff: 2s                  # doubled each round
//	    changes:
//	      method: auto                 # auto | dirsync | usn (AD) | syncrepl | poll (LDAP); see "Change detection"
//	      interval: 30s                # polling period of dirsync, usn and poll
//	      notify: false                # AD: a change notification wakes the poller at once
//	      pollAttribute: auto          # poll: auto | entryCSN | modifyTimestamp (1-second granularity)
//	      clockLag: 5s                 # poll without contextCSN: how far the server's clock may lag ours
//
// Default filters: AD people (&(objectCategory=person)(objectClass=user)),
// AD groups (objectClass=group); LDAP people (objectClass=inetOrgPerson),
// LDAP groups (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)).
// Only the attributes the mapping reads are requested (plus the ID,
// primaryGroupID and the member attribute); values are kept as the raw
// bytes the server sent, so binary and non-UTF-8 values survive.
//
// # Errors
//
// Every connection error names the server and the bind identity, never the
// password, and wraps a sentinel: ErrUnreachable, ErrTLSVerify (naming the
// CA file), ErrBadCredentials (with AD's sub-code decoded: 52e, 525, 530,
// 531, 532, 533, 701, 773, 775), ErrStrongAuthRequired (result 8 /
// 00002028: "this server requires LDAPS or StartTLS (LDAP signing); set
// tls.mode"), ErrInsufficientRights (result 50) and ErrIncompleteRead.
// Credential and TLS errors are not retried: retrying a bad password only
// locks the service account out.
//
// # Kerberos
//
// method: kerberos binds with SASL GSSAPI using a keytab (gokrb5, pure Go,
// on Linux and Windows alike). go-ldap's GSSAPI client negotiates no SASL
// security layer and sends no channel-binding token, so: the bind must run
// inside TLS; a Windows DC with "LDAP server channel binding token
// requirements = Always" refuses it ("When supported", the default,
// accepts it); and Samba's default "ldap server require strong auth = yes"
// refuses GSSAPI without signing even inside TLS (set allow_sasl_over_tls on
// the DC; Windows behaves like allow_sasl_over_tls).
//
// method: sspi (Windows only) binds as the service's own identity, e.g. a
// gMSA, through SSPI with no secret in the file, and inside TLS sends a
// tls-server-end-point channel-binding token (RFC 5929), so it also works
// where channel binding is required. It compiles for Windows but has not
// been run against a Windows DC by this project's tests (no Windows here).
//
// # Change detection
//
// FullRead returns a cursor holding the watermark of the method Watch will
// use, taken before the read (AD: the DC's NTDS Settings DN, invocationId
// and highestCommittedUSN, plus DirSync cookies when DirSync is used;
// OpenLDAP: the suffix's contextCSN), so a change made during the read is
// delivered again rather than lost. Watch continues from it; every page
// carries the cursor to commit with it. changes.method auto picks, and logs
// why (Check reports it too):
//
//   - AD, account holds "Replicating Directory Changes": DirSync
//     (1.2.840.113556.1.4.841) rooted at the naming context, one search for
//     people and one for groups, each with its cookie. Rounds are streamed
//     (DirSyncAsync) in pages of at most 500; a page inside a round carries
//     the cookie from before the round (replaying a round is harmless), the
//     round's last page the new cookie. Entries are Partial (changed
//     attributes only; an attribute present with no values was cleared),
//     except new, renamed and moved ones, which are read whole (AD records
//     both in the metadata of "name"; a move into scope must not reach the
//     agent as a fragment). Membership comes as deltas (MembersDelta;
//     member;range=1-1 added, member;range=0-0 removed, as member GUIDs via
//     the extended-DN control), or as a whole list for values written
//     before linked-value replication. method: dirsync without the right
//     adds DirSyncObjectSecurity (only what the account may read). A full
//     read with DirSync first runs one DirSync pass per kind from no cookie,
//     streamed and discarded, to take the cookies (AD has no cheaper way to
//     obtain a current one): the DC reads the followed objects twice.
//   - AD otherwise: uSNChanged polling at the naming-context root, bounded
//     by rootDSE highestCommittedUSN read before each poll. The window's
//     USNs are read first (numbers only), sorted and cut into pages of at
//     most 500 that never split one USN, so each page's watermark is exact.
//     Tombstones (Show Deleted, 1.2.840.113556.1.4.417; isDeleted=TRUE,
//     matched by objectGUID) become Page.Deleted. Entries are whole.
//   - Both AD methods: the cursor is valid only on the DC that issued it:
//     another DC (dsServiceName), a restored DC (new invocationId), a DC
//     whose highestCommittedUSN fell below the cursor, or a cursor not seen
//     for longer than tombstoneLifetime (CN=Directory Service; 60 days when
//     unset) is directory.ErrFullReadRequired. An idle watch still hands
//     over an empty page at least hourly (uSNChanged polling also at
//     start) so the committed cursor stays fresh. changes.notify keeps a change-notification search
//     (1.2.840.113556.1.4.528) open on the naming context: a change wakes
//     the poller in milliseconds instead of at the next interval. Without
//     access to CN=Deleted Objects neither method sees deletes (AD lists no
//     tombstones to the account); Check reports it with the grant, and the
//     agent's scheduled full reconciliation is then the only delete path.
//     Lockout (bad passwords) arrives as an ordinary change of lockoutTime;
//     the source gives it no meaning (it clears by itself with no change).
//   - Scope: people and groups are followed at the naming-context root
//     (AD) so that moves are seen; an entry whose DN is outside
//     people.base (groups.base for groups) is reported in Page.Deleted,
//     exactly as a full read (which reads only those bases) and syncrepl
//     (delete notices for entries leaving the search) would see it. Deleted
//     may therefore name IDs the agent never held; it ignores them. An
//     entry that stops matching people.filter without moving is not
//     reported (the DC cannot say it no longer matches); full
//     reconciliation covers it.
//   - OpenLDAP (syncprov): RFC 4533 refreshAndPersist, one search for people
//     and one for groups, each page carrying the cursor with both cookies.
//     Deletes and moves out of scope arrive as delete notices or
//     refreshDeletes ID sets (Page.Deleted); a resumed search also
//     "deletes" every entry of the other kind changed meanwhile (slapd's
//     session log sends a delete for a logged change that does not match
//     the search's filter): those are dropped when the entry still matches
//     the other kind's search. Refresh-phase entries carry no cookie (RFC
//     4533 3.4), so their pages carry the previous one until the refresh
//     ends. When slapd answers with a present phase (its session log no
//     longer covers the cookie, e.g. after a restart), Watch returns
//     directory.ErrFullReadRequired.
//   - OpenLDAP without syncprov on the suffix (auto probes a sync search of
//     the base entry: slapd announces the control when any database has
//     syncprov): entryCSN polling under the people and groups bases (CSNs
//     are unique per change, microsecond time first), or modifyTimestamp
//     where there is no entryCSN, bounded by contextCSN when the server
//     keeps one, else by now minus changes.clockLag (a change committed
//     late, or in a second still open, is never behind the watermark);
//     pages are cut at value boundaries. Polling sees neither deletes nor entries that left the
//     bases: the agent's scheduled full reconciliation finds them, and
//     Check says so.
//
// Streamed searches (DirSync, syncrepl) read whole entries, primary groups
// and member DNs on a second connection to the same server: on the
// streaming one such a read would deadlock behind the stream's buffer.
//
// Samba differs from Windows AD where it matters here: Samba answers a
// DirSync round in one piece (Windows cuts rounds and sets "more data",
// which Watch follows), has no MaxPageSize, and accepts writes to
// lockoutTime; these tests run on Samba only, so the Windows paths (more
// data, ranged members in DirSync) are covered by code, not by a DC.
package ldap
