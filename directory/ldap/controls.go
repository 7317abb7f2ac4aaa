package ldap

import (
	"fmt"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// controlExtendedDN asks AD to return DN values as
// "<GUID=...>;<SID=...>;CN=..." (MS-ADTS 3.1.1.3.4.1.5), so member GUIDs come
// with the member list instead of one lookup per member. go-ldap has the OID
// but no encoder for it.
type controlExtendedDN struct {
	// flag 1 asks for the string GUID form (xxxxxxxx-xxxx-...), 0 for hex.
	flag int64
}

func (c *controlExtendedDN) GetControlType() string {
	return goldap.ControlTypeMicrosoftExtendedDN
}

func (c *controlExtendedDN) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.GetControlType(), "Control Type"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	val := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "ExtendedDNRequestValue")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, c.flag, "Flag"))
	val.AppendChild(seq)
	p.AppendChild(val)
	return p
}

func (c *controlExtendedDN) String() string {
	return fmt.Sprintf("Control Type: Extended DN (%q) Flag: %d", c.GetControlType(), c.flag)
}
