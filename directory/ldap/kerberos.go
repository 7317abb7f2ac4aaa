package ldap

import (
	"fmt"
	"net/url"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
	"github.com/jcmturner/gokrb5/v8/client"
)

// kerberosBind performs a SASL GSSAPI bind with a keytab (gokrb5, pure Go,
// so it works the same on Linux and Windows without SSPI).
//
// Limits, from go-ldap v3.4.15's gssapi.Client: it negotiates no SASL
// security layer (no signing or sealing), so the bind must travel inside
// TLS (ldaps or starttls) on a server that requires LDAP signing; and it
// sends no channel-binding token, so a Windows DC with "LDAP server channel
// binding token requirements = Always" refuses it (the default "When
// supported" accepts it). Binding as the Windows service's own identity (a
// gMSA through SSPI) is not wired in: that needs gssapi.NewSSPIClient,
// which exists only on Windows builds.
func (c *connector) kerberosBind(conn *goldap.Conn, rawURL string) error {
	b := c.cfg.Bind
	oe := opError{server: rawURL, bindDN: b.Principal + "@" + b.Realm, op: "kerberos bind"}
	cl, err := gssapi.NewClientWithKeytab(b.Principal, b.Realm, b.Keytab, b.Krb5Conf, func(s *client.Settings) {})
	if err != nil {
		return fmt.Errorf("directory/ldap: kerberos bind as %s@%s: keytab %s, krb5 config %s: %w", b.Principal, b.Realm, b.Keytab, b.Krb5Conf, err)
	}
	defer cl.Close()
	spn := b.SPN
	if spn == "" {
		u, _ := url.Parse(rawURL) // validated at load
		spn = "ldap/" + u.Hostname()
	}
	err = conn.GSSAPIBind(cl, spn, "")
	if goldap.IsErrorWithCode(err, goldap.LDAPResultStrongAuthRequired) && c.cfg.TLS.Mode != TLSNone {
		return fmt.Errorf("%w: %s refused the Kerberos bind of %s although the connection is TLS-protected: the server wants "+
			"GSSAPI signing or sealing on top of TLS, which go-ldap's Kerberos client cannot do. Samba does this with its default "+
			"'ldap server require strong auth = yes'; set it to allow_sasl_over_tls on the DC (Windows DCs accept GSSAPI over TLS), "+
			"or use a simple bind over TLS: %w", ErrStrongAuthRequired, rawURL, oe.bindDN, err)
	}
	if err != nil {
		return oe.classify(err)
	}
	return nil
}
