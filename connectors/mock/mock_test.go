package mock

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/connectortest"
)

func TestContract(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t *testing.T) connectors.Connector {
			m, err := Open(Settings{File: filepath.Join(t.TempDir(), "mock.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			return m
		},
		User: func(i int) connectors.User {
			name := fmt.Sprintf("user%d@corp.example", i)
			return connectors.User{Anchor: fmt.Sprintf("guid-%d", i), UserName: name, Active: true,
				Attributes: map[string]any{"userName": name, "name.givenName": "User", "email": name}}
		},
		Rename: func(u connectors.User) connectors.User {
			attrs := map[string]any{}
			for k, v := range u.Attributes {
				attrs[k] = v
			}
			attrs["name.givenName"] = "Renamed"
			u.Attributes = attrs
			return u
		},
	})
}

func TestRecordsWhatWasSent(t *testing.T) {
	m, err := Open(Settings{File: filepath.Join(t.TempDir(), "mock.db"), Fail: map[string]string{"bad@x": "permanent"}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	u := connectors.User{Anchor: "a", UserName: "a@x", Active: true}
	if _, err := m.Apply(t.Context(), connectors.Request{ID: 7, Op: connectors.OpCreate, PersonID: "p", Desired: u}); err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply(t.Context(), connectors.Request{ID: 8, Op: connectors.OpCreate, PersonID: "q", Desired: connectors.User{Anchor: "b", UserName: "bad@x"}})
	if c, _ := connectors.ClassOf(err); c != connectors.Permanent {
		t.Fatalf("injected failure: %v", err)
	}
	sent, err := m.SentRequests()
	if err != nil || len(sent) != 1 || sent[0].Request != 7 || sent[0].Payload.UserName != "a@x" {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
}
