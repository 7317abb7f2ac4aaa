package scim

import (
	"encoding/json"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func TestParsePath(t *testing.T) {
	cases := map[string]attrPath{
		"displayName":                  {attr: "displayName"},
		"name.givenName":               {attr: "name", sub: "givenName"},
		`emails[type eq "work"].value`: {attr: "emails", fAttr: "type", fValue: "work", sub: "value"},
		`addresses[type EQ "x\"y"]`:    {attr: "addresses", fAttr: "type", fValue: `x"y`},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": {
			urn: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", attr: "employeeNumber"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": {
			urn: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", attr: "manager", sub: "value"},
	}
	for in, want := range cases {
		got, err := parsePath(in)
		want.raw = in
		if err != nil || got != want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", `emails[type eq "work"`, `emails[type co "w"].value`, `emails[type eq work].value`, "a b"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q) accepted", bad)
		}
	}
}

func TestQuoteFilterValue(t *testing.T) {
	cases := map[string]string{`alice`: `"alice"`, `o"brien`: `"o\"brien"`, `a\b`: `"a\\b"`, `\"`: `"\\\""`}
	for in, want := range cases {
		if got := quoteFilterValue(in); got != want {
			t.Errorf("quoteFilterValue(%q) = %s, want %s", in, got, want)
		}
		if back := unescapeFilterValue(want[1 : len(want)-1]); back != in {
			t.Errorf("round trip of %q gave %q", in, back)
		}
	}
}

// The POST body for a user with every kind of path, compared with a
// golden document.
func TestUserDocument(t *testing.T) {
	u := connectors.User{Anchor: "guid-1", UserName: "alice@corp.example", Active: true, Frozen: true,
		Attributes: map[string]any{
			"userName":                     "ignored: the User's own field wins",
			"name.givenName":               "Alice",
			`emails[type eq "work"].value`: "alice@corp.example",
			`emails[type eq "home"].value`: nil,
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "4711",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value":  "boss-id",
		}}
	doc, err := userDocument(u, Profile{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(doc)
	want := `{"active":false,"emails":[{"type":"work","value":"alice@corp.example"}],"externalId":"guid-1",` +
		`"name":{"givenName":"Alice"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"4711","manager":{"value":"boss-id"}},` +
		`"userName":"alice@corp.example"}`
	if string(got) != want {
		t.Errorf("document\n got %s\nwant %s", got, want)
	}
	frozen, _ := userDocument(u, Profile{SuspendAttribute: "urn:example:app:2.0:User:suspended"})
	if frozen["active"] != true || frozen["urn:example:app:2.0:User"].(map[string]any)["suspended"] != true {
		t.Errorf("with a suspend attribute: %v", frozen)
	}
}

func TestResourceAccountStatus(t *testing.T) {
	p := Profile{SuspendAttribute: "urn:example:app:2.0:User:suspended"}
	cases := []struct {
		doc  string
		want connectors.AccountStatus
	}{
		{`{"id":"1","active":true}`, connectors.StatusActive},
		{`{"id":"1"}`, connectors.StatusActive},
		{`{"id":"1","active":false}`, connectors.StatusDeactivated},
		{`{"id":"1","active":"False"}`, connectors.StatusDeactivated},
		{`{"id":"1","active":true,"urn:example:app:2.0:User":{"suspended":true}}`, connectors.StatusFrozen},
	}
	for _, tc := range cases {
		var r resource
		_ = json.Unmarshal([]byte(tc.doc), &r)
		if got := r.account(p).Status; got != tc.want {
			t.Errorf("%s: status %s, want %s", tc.doc, got, tc.want)
		}
	}
}
