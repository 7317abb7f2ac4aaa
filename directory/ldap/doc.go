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
// FullRead returns a cursor holding the watermark taken before the read (AD:
// the DC's dsServiceName and highestCommittedUSN; OpenLDAP: the suffix's
// contextCSN), so a change made during the read is delivered again rather
// than lost. Watch continues from it:
//
//   - OpenLDAP (syncprov): RFC 4533 refreshAndPersist, one search for people
//     and one for groups, each page carrying the cursor with both cookies.
//     Deletes and moves out of scope arrive as delete notices or
//     refreshDeletes ID sets (Page.Deleted). When slapd answers with a
//     present phase (its in-memory session log no longer covers the cookie,
//     e.g. after a restart), Watch returns directory.ErrFullReadRequired:
//     deletes could only be derived from the store's IDs. A dropped
//     connection is ErrUnreachable; the agent calls Watch again with the last
//     committed cursor. The agent drops a deleted person's memberships itself
//     (slapd without refint leaves the member value behind).
//   - Active Directory: ErrIncrementalNotImplemented until DirSync and
//     uSNChanged polling land (issue 5); Check already reports which method
//     the bind account allows and the grants that are missing.
package ldap
