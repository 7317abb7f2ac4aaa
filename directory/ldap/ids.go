package ldap

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/dirbridge/dirbridge/directory"
)

// GUIDString converts AD's 16 raw objectGUID bytes to the canonical
// lower-case string (directory.FormatGUID: the first three fields are
// little-endian, MS-DTYP GUID).
func GUIDString(b []byte) (string, error) { return directory.FormatGUID(b) }

// GUIDBytes is the inverse of GUIDString: the raw bytes AD stores, for
// <GUID=...> base DNs in hex form and objectGUID filters.
func GUIDBytes(s string) ([]byte, error) {
	if _, err := uuid.Parse(s); err != nil {
		return nil, err
	}
	return directory.ParseGUID(s)
}

// canonicalUUID normalises an entryUUID (RFC 4530: already a string).
func canonicalUUID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("entryUUID %q: %w", s, err)
	}
	return u.String(), nil
}

// SIDString converts a binary objectSid (MS-DTYP 2.4.2.2) to S-1-5-21-...
func SIDString(b []byte) (string, error) {
	if len(b) < 8 {
		return "", errors.New("objectSid shorter than 8 bytes")
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", fmt.Errorf("objectSid has %d bytes for %d sub-authorities", len(b), n)
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	var sb strings.Builder
	sb.WriteString("S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10))
	for i := 0; i < n; i++ {
		sb.WriteString("-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// extendedDN splits an AD extended DN (control 1.2.840.113556.1.4.529),
// "<GUID=...>;<SID=...>;CN=x,DC=y", into the member's canonical GUID and
// its plain DN. Both the hex (flag 0) and string (flag 1) GUID forms are
// accepted. Components that are not GUID or SID are kept in the DN.
func extendedDN(v string) (guid, dn string, err error) {
	rest := v
	for strings.HasPrefix(rest, "<") {
		end := strings.Index(rest, ">")
		if end < 0 {
			return "", v, fmt.Errorf("extended DN %q: unterminated <...>", v)
		}
		comp := rest[1:end]
		rest = strings.TrimPrefix(rest[end+1:], ";")
		if val, ok := strings.CutPrefix(comp, "GUID="); ok {
			if guid, err = parseExtendedGUID(val); err != nil {
				return "", v, fmt.Errorf("extended DN %q: %w", v, err)
			}
		}
	}
	if guid == "" {
		return "", rest, fmt.Errorf("extended DN %q carries no <GUID=...>", v)
	}
	return guid, rest, nil
}

func parseExtendedGUID(val string) (string, error) {
	if len(val) == 32 {
		raw, err := hex.DecodeString(val)
		if err != nil {
			return "", err
		}
		return GUIDString(raw)
	}
	return canonicalUUID(val)
}

// stripExtendedDN returns the plain DN of an entry read with the extended
// DN control (AD returns the entry's own DN in extended form too).
func stripExtendedDN(v string) string {
	for strings.HasPrefix(v, "<") {
		end := strings.Index(v, ">")
		if end < 0 {
			return v
		}
		v = strings.TrimPrefix(v[end+1:], ";")
	}
	return v
}
