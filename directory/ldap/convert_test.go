package ldap

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/directory"
)

func TestGUIDRoundTrip(t *testing.T) {
	// objectGUID bytes as AD stores them for {b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21}:
	// the first three fields little-endian.
	raw := []byte{0x5a, 0xb0, 0xf6, 0xb9, 0x8e, 0x6c, 0x2f, 0x4d, 0x9a, 0x1b, 0x0c, 0x3e, 0x5f, 0x7a, 0x9d, 0x21}
	s, err := GUIDString(raw)
	if err != nil || s != "b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21" {
		t.Fatalf("GUIDString = %q, %v", s, err)
	}
	back, err := GUIDBytes(s)
	if err != nil || string(back) != string(raw) {
		t.Fatalf("GUIDBytes = %x, %v", back, err)
	}
	for _, bad := range [][]byte{nil, raw[:15], append(raw, 0)} {
		if _, err := GUIDString(bad); err == nil {
			t.Errorf("GUIDString(%x) accepted %d bytes", bad, len(bad))
		}
	}
}

func TestSIDString(t *testing.T) {
	// S-1-5-21-1004336348-1177238915-682003330-513 (Domain Users of some domain)
	raw := []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xdc, 0xf4, 0xdc, 0x3b, 0x83, 0x3d, 0x2b, 0x46, 0x82, 0x8b, 0xa6, 0x28, 0x01, 0x02, 0, 0}
	s, err := SIDString(raw)
	if err != nil || s != "S-1-5-21-1004336348-1177238915-682003330-513" {
		t.Fatalf("SIDString = %q, %v", s, err)
	}
	for _, bad := range [][]byte{nil, raw[:7], raw[:27], {1, 200, 0, 0, 0, 0, 0, 5}} {
		if _, err := SIDString(bad); err == nil {
			t.Errorf("SIDString(%x) accepted a malformed SID", bad)
		}
	}
}

func TestExtendedDN(t *testing.T) {
	cases := []struct {
		in, guid, dn string
		ok           bool
	}{
		{"<GUID=b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21>;<SID=S-1-5-21-1-2-3-1105>;CN=x,DC=y", "b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21", "CN=x,DC=y", true},
		{"<GUID=5ab0f6b98e6c2f4d9a1b0c3e5f7a9d21>;CN=x\\>y,DC=z", "b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21", "CN=x\\>y,DC=z", true},
		{"<GUID=B9F6B05A-6C8E-4D2F-9A1B-0C3E5F7A9D21>;CN=upper", "b9f6b05a-6c8e-4d2f-9a1b-0c3e5f7a9d21", "CN=upper", true},
		{"CN=plain,DC=y", "", "", false},
		{"<GUID=zz>;CN=x", "", "", false},
		{"<GUID=b9f6b05a", "", "", false},
		{"<SID=S-1-5>;CN=nosid", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		guid, dn, err := extendedDN(c.in)
		if (err == nil) != c.ok || (c.ok && (guid != c.guid || dn != c.dn)) {
			t.Errorf("extendedDN(%q) = %q, %q, %v", c.in, guid, dn, err)
		}
	}
	if got := stripExtendedDN("<GUID=ab>;<SID=S-1>;CN=a,DC=b"); got != "CN=a,DC=b" {
		t.Errorf("stripExtendedDN = %q", got)
	}
}

func TestNextRange(t *testing.T) {
	cases := []struct {
		attr  string
		start int
		done  bool
		ok    bool
	}{
		{"member", 0, true, true},
		{"member;range=0-1499", 1500, false, true},
		{"member;range=1500-*", 0, true, true},
		{"member;range=0-*", 0, true, true},
		{"member;range=abc", 0, false, false},
		{"member;range=5-2", 0, false, false},
		{"member;range=x-9", 0, false, false},
	}
	for _, c := range cases {
		start, done, err := nextRange(c.attr)
		if (err == nil) != c.ok || start != c.start || done != c.done {
			t.Errorf("nextRange(%q) = %d, %v, %v", c.attr, start, done, err)
		}
	}
}

// olReader converts entries like a read from an OpenLDAP server would,
// without a server: people need no lookups.
func olReader() *reader {
	return &reader{sess: &session{flavor: FlavorOpenLDAP}, cfg: &Config{Groups: Groups{MemberAttribute: "member"}}, idAttr: "entryuuid"}
}

func TestConvertBadInput(t *testing.T) {
	nonUTF8 := string([]byte{0xc3, 0x28, 0xff, 0x00})
	good := goldap.NewEntry("uid=a,dc=x", map[string][]string{
		"entryUUID": {"5C0A1F7E-1B2C-4D3E-8F90-A1B2C3D4E5F6"}, "CN": {"A"}, "description": {nonUTF8}, "empty": {},
	})
	e, err := olReader().convert(context.Background(), good, directory.KindPerson)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	if e.ID != "5c0a1f7e-1b2c-4d3e-8f90-a1b2c3d4e5f6" || e.Attr("cn") != "A" || e.Attr("description") != nonUTF8 || e.Attr("mail") != "" {
		t.Errorf("converted %+v", e)
	}
	for name, attrs := range map[string]map[string][]string{
		"no entryUUID":      {"cn": {"x"}},
		"two entryUUIDs":    {"entryUUID": {"5c0a1f7e-1b2c-4d3e-8f90-a1b2c3d4e5f6", "6c0a1f7e-1b2c-4d3e-8f90-a1b2c3d4e5f6"}},
		"garbage entryUUID": {"entryUUID": {nonUTF8}},
	} {
		_, err := olReader().convert(context.Background(), goldap.NewEntry("uid=bad,dc=x", attrs), directory.KindPerson)
		if err == nil || !strings.Contains(err.Error(), "uid=bad,dc=x") {
			t.Errorf("%s: got %v, want an error naming the entry", name, err)
		}
	}
	ad := &reader{sess: &session{flavor: FlavorAD}, cfg: &Config{}, idAttr: "objectguid"}
	_, err = ad.convert(context.Background(), goldap.NewEntry("CN=short", map[string][]string{"objectGUID": {"123"}}), directory.KindPerson)
	if err == nil || !strings.Contains(err.Error(), "16") {
		t.Errorf("short objectGUID: %v", err)
	}
}

func TestConfigValidateReportsEverything(t *testing.T) {
	cfg := Config{URLs: []string{"http://x", "ldaps://"}, TLS: TLS{Mode: "bogus"}, Bind: Bind{Method: "simple"},
		People: Search{Filter: "(cn=unclosed"}, Flavor: "novell", PageSize: -1}
	cfg.defaults("")
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"urls[0]", "urls[1]", "tls.mode", "bind.dn", "bind.password", "flavor", "people.filter", "pageSize"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestDecodeRejectsUnknownKeys(t *testing.T) {
	_, err := directory.New("ldap", directory.Env{Logger: testLogger(t), Decode: decodeYAML("urls: [ldaps://dc]\nbindd: {}\n")})
	if err == nil || !strings.Contains(err.Error(), "bindd") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestWatchRefusesGarbageCursor(t *testing.T) {
	src, err := New(Config{URLs: []string{"ldaps://dc:636"}, Bind: Bind{DN: "x", Password: config.NewSecret("y")}}, "", nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Watch(context.Background(), []byte("not json"), nil); !errors.Is(err, directory.ErrFullReadRequired) {
		t.Errorf("Watch with a garbage cursor: %v", err)
	}
}

func TestStripOptionalUIDs(t *testing.T) {
	got := stripOptionalUIDs([]string{"uid=a,dc=x#'0101'B", "uid=b,dc=x", `cn=c\#'1'B,dc=x`})
	want := []string{"uid=a,dc=x", "uid=b,dc=x", `cn=c\#'1'B,dc=x`}
	if !slices.Equal(got, want) {
		t.Errorf("stripOptionalUIDs = %q, want %q", got, want)
	}
}

func TestSSPIOnlyOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SSPI is available here")
	}
	_, err := New(Config{URLs: []string{"ldaps://dc:636"}, Bind: Bind{Method: BindSSPI}}, "", nil, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "only on Windows") {
		t.Errorf("sspi off Windows: %v", err)
	}
}
