package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// Sentinel errors; test with errors.Is. Every returned error also names the
// server and the bind DN in plain words, never the password.
var (
	// ErrUnreachable: no TCP connection (refused, timed out, no route).
	ErrUnreachable = errors.New("directory/ldap: server unreachable")
	// ErrTLSVerify: the server certificate did not verify.
	ErrTLSVerify = errors.New("directory/ldap: TLS certificate verification failed")
	// ErrBadCredentials: LDAP result 49 (the AD sub-code says why).
	ErrBadCredentials = errors.New("directory/ldap: bind refused")
	// ErrStrongAuthRequired: LDAP result 8, AD 00002028 (LDAP signing).
	ErrStrongAuthRequired = errors.New("directory/ldap: server requires LDAPS or StartTLS")
	// ErrInsufficientRights: LDAP result 50.
	ErrInsufficientRights = errors.New("directory/ldap: insufficient access rights")
	// ErrIncompleteRead: a full read ended before the last page.
	ErrIncompleteRead = errors.New("directory/ldap: full read incomplete")
)

// adBindReasons decodes the "data XXX" sub-code AD puts in the diagnostic
// message of result 49 (MS-ADTS, "AcceptSecurityContext error, data 52e").
var adBindReasons = map[string]string{
	"525": "no such user",
	"52e": "wrong password (or no such user)",
	"530": "logon not permitted at this time (logon hours)",
	"531": "logon not permitted from this workstation",
	"532": "password expired",
	"533": "account disabled",
	"568": "too many security identifiers in the token",
	"701": "account expired",
	"773": "password must be reset before the first logon",
	"775": "account locked out",
}

var adDataCode = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,8})\b`)

// ADBindSubCode extracts the sub-code ("52e") from an AD bind diagnostic.
func ADBindSubCode(diag string) string {
	m := adDataCode.FindStringSubmatch(diag)
	if m == nil {
		return ""
	}
	return strings.ToLower(strings.TrimLeft(m[1], "0"))
}

// opError says what the source was doing, where and as whom.
type opError struct {
	server, bindDN, op string
}

func (o opError) where() string {
	if o.bindDN == "" {
		return o.server
	}
	return fmt.Sprintf("%s as %q", o.server, o.bindDN)
}

// classifyDial turns a dial or handshake error into a plain-words error.
func (o opError) classifyDial(err error, caFile string) error {
	if isTLSVerifyError(err) {
		ca := "the system CA roots"
		if caFile != "" {
			ca = "CA file " + caFile
		}
		return fmt.Errorf("%w: %s: the server certificate does not verify against %s (set tls.caFile to the CA that issued it, or tls.serverName to the name in it): %w",
			ErrTLSVerify, o.server, ca, err)
	}
	var ne net.Error
	var le *goldap.Error
	if errors.As(err, &ne) || (errors.As(err, &le) && le.ResultCode == goldap.ErrorNetwork) {
		return fmt.Errorf("%w: cannot connect to %s: %w", ErrUnreachable, o.server, err)
	}
	return fmt.Errorf("directory/ldap: %s %s: %w", o.op, o.server, err)
}

func isTLSVerifyError(err error) bool {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &ve) {
		return true
	}
	// go-ldap v3.4.15's StartTLS flattens the handshake error into text
	// ("TLS handshake failed (tls: failed to verify certificate: ...)"), so
	// the typed checks above cannot see it.
	return strings.Contains(err.Error(), "tls: failed to verify certificate")
}

// classify turns an LDAP result into a plain-words error.
func (o opError) classify(err error) error {
	var le *goldap.Error
	var ne net.Error
	// go-ldap v3.4.15 records a dead connection's read error as text
	// ("unable to read LDAP response packet: EOF"), so it is matched there.
	if errors.Is(err, io.EOF) || errors.As(err, &ne) || strings.Contains(err.Error(), "unable to read LDAP response packet") {
		return fmt.Errorf("%w: connection to %s lost during %s: %w", ErrUnreachable, o.server, o.op, err)
	}
	if !errors.As(err, &le) {
		return fmt.Errorf("directory/ldap: %s on %s: %w", o.op, o.where(), err)
	}
	diag := ""
	if le.Err != nil {
		diag = le.Err.Error()
	}
	switch le.ResultCode {
	case goldap.LDAPResultInvalidCredentials:
		return fmt.Errorf("%w: %s: %s (LDAP 49: %s)", ErrBadCredentials, o.where(), bindReason(diag), diag)
	case goldap.LDAPResultStrongAuthRequired:
		return fmt.Errorf("%w: %s refused a %s: this server requires LDAPS or StartTLS (LDAP signing); set tls.mode to ldaps or starttls (LDAP 8: %s)",
			ErrStrongAuthRequired, o.server, o.op, diag)
	case goldap.LDAPResultInsufficientAccessRights:
		return fmt.Errorf("%w: %s: %s was refused (LDAP 50: %s)", ErrInsufficientRights, o.where(), o.op, diag)
	case goldap.ErrorNetwork:
		return fmt.Errorf("%w: connection to %s lost during %s: %w", ErrUnreachable, o.server, o.op, err)
	}
	return fmt.Errorf("directory/ldap: %s on %s: %w", o.op, o.where(), err)
}

func bindReason(diag string) string {
	if strings.Contains(diag, "00002028") {
		return "the server requires LDAPS or StartTLS (LDAP signing); set tls.mode"
	}
	code := ADBindSubCode(diag)
	if r, ok := adBindReasons[code]; ok {
		return "AD says " + r + " (data " + code + ")"
	}
	return "wrong DN or password"
}
