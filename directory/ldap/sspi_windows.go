//go:build windows

package ldap

import (
	"fmt"
	"net/url"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
)

// sspiBind binds as the Windows service's own identity (a gMSA or virtual
// account) through SSPI: no password or keytab in the configuration. Inside
// TLS it sends a tls-server-end-point channel-binding token (RFC 5929), so
// DCs that require LDAP channel binding accept it.
func (c *connector) sspiBind(conn *goldap.Conn, rawURL string) error {
	oe := opError{server: rawURL, bindDN: "the service's own Windows identity", op: "SSPI bind"}
	var cl *gssapi.SSPIClient
	var err error
	if st, ok := conn.TLSConnectionState(); ok && len(st.PeerCertificates) > 0 {
		cl, err = gssapi.NewSSPIClientWithChannelBinding(st.PeerCertificates[0])
	} else {
		cl, err = gssapi.NewSSPIClient()
	}
	if err != nil {
		return fmt.Errorf("directory/ldap: SSPI credentials of the service identity: %w", err)
	}
	defer cl.Close()
	spn := c.cfg.Bind.SPN
	if spn == "" {
		u, _ := url.Parse(rawURL) // validated at load
		spn = "ldap/" + u.Hostname()
	}
	if err := conn.GSSAPIBind(cl, spn, ""); err != nil {
		return oe.classify(err)
	}
	return nil
}
