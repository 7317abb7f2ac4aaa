package scim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// A strict server answers a replace through a filter that matches nothing
// with 400 noTarget (RFC 7644 section 3.5.2.3); the connector then adds
// the element instead.
func TestNoTargetBecomesAdd(t *testing.T) {
	var mu sync.Mutex
	var bodies []patchRequest
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		var p patchRequest
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		bodies = append(bodies, p)
		first := len(bodies) == 1
		mu.Unlock()
		if first {
			writeJSON(w, 400, `{"status":"400","scimType":"noTarget","detail":"no work email"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.connector(t, Config{})
	req := updateRequest()
	req.Changed = []string{"name.givenName", `emails[type eq "work"].value`}
	if _, err := c.Apply(testCtx(t), req); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d PATCHes, want 2", len(bodies))
	}
	want := []patchOp{
		{Op: "replace", Path: "name.givenName", Value: "Alice"},
		{Op: "add", Path: "emails", Value: []any{map[string]any{"type": "work", "value": "alice@corp.example"}}},
	}
	if !reflect.DeepEqual(bodies[1].Operations, want) {
		t.Errorf("retry operations = %#v, want %#v", bodies[1].Operations, want)
	}
}

// With a suspend attribute, Freeze sets it and leaves active alone, and
// Unfreeze clears it; the account reads back as Frozen from the attribute.
func TestFreezeWithSuspendAttribute(t *testing.T) {
	const attr = "urn:ietf:params:scim:schemas:extension:acme:2.0:User:suspended"
	var mu sync.Mutex
	var ops []patchOp
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		var p patchRequest
		_ = json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		ops = append(ops, p.Operations...)
		suspended := p.Operations[0].Value == true
		mu.Unlock()
		doc, _ := json.Marshal(resource{"id": "u1", "userName": "alice@corp.example", "active": true,
			"urn:ietf:params:scim:schemas:extension:acme:2.0:User": map[string]any{"suspended": suspended}})
		writeJSON(w, 200, string(doc))
	})
	c := f.connector(t, Config{SuspendAttribute: attr})
	u := alice()
	u.Frozen = true
	acct := connectors.Account{ExternalID: "u1", Anchor: u.Anchor, Status: connectors.StatusActive}
	got, err := c.Apply(testCtx(t), connectors.Request{Op: connectors.OpFreeze, Desired: u, Account: acct})
	if err != nil || got.Status != connectors.StatusFrozen {
		t.Fatalf("Freeze = %+v, %v", got, err)
	}
	u.Frozen = false
	got, err = c.Apply(testCtx(t), connectors.Request{Op: connectors.OpUnfreeze, Desired: u, Account: got})
	if err != nil || got.Status != connectors.StatusActive {
		t.Fatalf("Unfreeze = %+v, %v", got, err)
	}
	want := []patchOp{{Op: "replace", Path: attr, Value: true}, {Op: "replace", Path: attr, Value: false}}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("operations = %#v, want %#v", ops, want)
	}
}
