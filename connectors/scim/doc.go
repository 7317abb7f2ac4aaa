// Package scim is the SCIM 2.0 connector (RFC 7643 resources, RFC 7644
// protocol): it carries out dirbridge's lifecycle requests against any app
// that takes provisioning over SCIM (Slack, Okta-integrated apps, Entra-style
// apps, Atlassian, Zoom, ...). It registers itself as "scim".
//
// # Configuration
//
// The app's `settings:` section, in full (every key but baseURL and one
// credential is optional; defaults shown):
//
//	apps:
//	  slack:
//	    connector: scim
//	    settings:
//	      baseURL: https://api.slack.com/scim/v2     # the SCIM root; /Users, /Groups are below it
//	      profile: slack                              # generic | slack | okta | entra
//	      auth:
//	        bearerToken: ${env:SLACK_SCIM_TOKEN}      # either this ...
//	        # oauth2:                                 # ... or OAuth 2.0 client credentials (RFC 6749 section 4.4)
//	        #   tokenURL: https://login.example.com/oauth2/token
//	        #   clientID: dirbridge
//	        #   clientSecret: ${file:/etc/dirbridge/scim-secret}
//	        #   scopes: [scim]
//	      timeout: 30s                                # per HTTP exchange
//	      rateLimit:
//	        requestsPerMinute: 180                    # token bucket per app; 0 = unlimited
//	        burst: 1
//	      patch: auto                                 # auto (ServiceProviderConfig) | always | never (GET-merge-PUT)
//	      deactivate: ""                              # override the profile: patch-active | delete | none | delete-on-inactive
//	      suspendAttribute: ""                        # attribute path set true on Freeze; "" = active=false
//	      pageSize: 100                               # list paging; capped by filter.maxResults
//	      linkByEmail: false                          # also match unanchored accounts by work email
//	      groups:
//	        create: true                              # create a group named in the mapping when missing
//	        memberChunk: 0                            # members per PATCH; 0 = the profile's value
//
// # Linking (docs/design.md section 3)
//
// The person's anchor is written to externalId. A Create (and a Verify of
// any request) looks the account up before it writes: the stored link, then
// `externalId eq`, then `userName eq` (then the work email when linkByEmail),
// the last ones adopting only a candidate that carries no externalId or the
// same one. A candidate carrying another anchor is a connectors.Conflict and is
// never written to. A 409 on create (RFC 7644 section 3.3, scimType
// "uniqueness") leads to the same lookup and the same decision, so a retried
// Create never makes a second account.
//
// # Retry ownership
//
// The outbox owns the retry schedule (connectors.Connector contract), so the
// HTTP client (hashicorp/go-retryablehttp) retries only what a single
// exchange needs: transport failures (connection reset or refused, a timeout
// before any answer) of idempotent requests - GET, PUT, DELETE and our PATCHes,
// which only replace values or add/remove members - at most twice, 100 ms to
// 1 s apart. It never retries a POST (a Create that may have reached the
// server is resolved by a lookup on the outbox's next attempt, with
// Request.Verify) and never retries on an HTTP status: 429 and 5xx go back to
// the outbox classified (RateLimited with Retry-After, Retryable), so the two
// retry loops never stack. A 429 or a 503 with Retry-After also pauses the
// app's token bucket until that time, so the other workers for the app slow
// down at once instead of each collecting its own 429; a 429 also lowers the
// bucket's rate by a fifth, and 30 s without one raise it back towards the
// configured rate.
//
// # Updates
//
// An Update PATCHes exactly the request's Changed paths (RFC 7644 section
// 3.5.2), plus userName and externalId when they moved, and moves group
// memberships by delta. Where PATCH is not advertised (or patch: never, or
// the okta profile) it reads the user, merges and PUTs it back whole, with
// If-Match when the server supports ETags (section 3.14), so attributes the
// mapping does not cover survive. A replace through a filter that matches
// nothing ("noTarget") is retried as an add of the element.
//
// # Provider profiles
//
// A profile captures a provider's dialect: how it deactivates (PATCH
// active=false, DELETE that deactivates as Slack does, nothing, or a
// provider that deletes on active=false and can only re-create), how group
// members are removed (a value filter path, RFC 7644 section 3.5.2.2, or a
// value list as Slack and Entra send it), PATCH op casing (Entra), whether
// updates go through GET-merge-PUT (Okta apps), and member chunk sizes.
package scim
