//go:build !windows

package ldap

import (
	"errors"

	goldap "github.com/go-ldap/ldap/v3"
)

// sspiBind exists only on Windows; Validate refuses bind.method sspi
// elsewhere, so this is reached only by a programming error.
func (c *connector) sspiBind(*goldap.Conn, string) error {
	return errors.New("directory/ldap: bind.method sspi works only when dirbridge runs on Windows")
}
