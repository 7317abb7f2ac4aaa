package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

// Salesforce and older Slack serve only the plural ServiceProviderConfigs
// (SCIM 1.1); this one also says it has no PATCH, so Update becomes a
// GET-merge-PUT, conditional on the ETag it advertises.
func TestDiscoveryPluralFallbackAndMergePut(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var put resource
	var ifMatch string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/scim/v2"))
		mu.Unlock()
		switch {
		case r.URL.Path == "/scim/v2/ServiceProviderConfigs":
			writeJSON(w, 200, `{"patch":{"supported":false},"filter":{"supported":true,"maxResults":200},"etag":{"supported":true}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users/u1":
			writeJSON(w, 200, `{"id":"u1","userName":"alice@corp.example","externalId":"guid-alice","title":"Set In App",
				"name":{"givenName":"Old","familyName":"Liddell"},"meta":{"version":"W/\"1\""}}`)
		case r.Method == http.MethodPut:
			ifMatch = r.Header.Get("If-Match")
			_ = json.NewDecoder(r.Body).Decode(&put)
			writeJSON(w, 200, `{"id":"u1","userName":"alice@corp.example","externalId":"guid-alice","active":true}`)
		default:
			writeJSON(w, 404, `{"status":"404"}`)
		}
	})
	c := f.connector(t, Config{Patch: "auto"})
	if _, err := c.Apply(testCtx(t), updateRequest()); err != nil {
		t.Fatal(err)
	}
	want := "[GET /ServiceProviderConfig GET /ServiceProviderConfigs GET /Users/u1 PUT /Users/u1]"
	if fmt.Sprint(seen) != want {
		t.Errorf("exchanges = %v, want %s", seen, want)
	}
	name, _ := put["name"].(map[string]any)
	if put["title"] != "Set In App" || name["givenName"] != "Alice" || name["familyName"] != "Liddell" || put["meta"] != nil {
		t.Errorf("PUT body = %v: want the unmapped title kept, givenName changed, meta dropped", put)
	}
	if ifMatch != `W/"1"` {
		t.Errorf("PUT If-Match = %q, want the version read (the server supports ETags)", ifMatch)
	}
	spc, _ := c.Discover(testCtx(t))
	if spc.Endpoint != "/ServiceProviderConfigs" || !spc.ETag.Supported || spc.Filter.MaxResults != 200 {
		t.Errorf("discovered %+v", spc)
	}
}

// pagedUsers serves total users, at most short per page whatever count
// asks for (servers may, RFC 7644 section 3.4.2.4).
func pagedUsers(total, short int, ignoreStart bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/Users") {
			writeJSON(w, 404, `{"status":"404"}`)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		count, _ := strconv.Atoi(r.URL.Query().Get("count"))
		if ignoreStart {
			start = 1
		}
		var items []string
		for i := start; i < start+min(count, short) && i <= total; i++ {
			items = append(items, fmt.Sprintf(`{"id":"u%d","userName":"user%d","externalId":"g%d","active":%v}`, i, i, i, i%2 == 0))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"totalResults":%d,"startIndex":%d,"itemsPerPage":%d,"Resources":[%s]}`,
			total, start, len(items), strings.Join(items, ",")))
	}
}

func TestListToleratesShortPages(t *testing.T) {
	f := newFake(t, pagedUsers(11, 3, false))
	c := f.connector(t, Config{PageSize: 5})
	var ids []string
	deactivated := 0
	err := c.ListAccounts(testCtx(t), func(a connectors.Account) error {
		ids = append(ids, a.ExternalID)
		if a.Status == connectors.StatusDeactivated {
			deactivated++
		}
		return nil
	})
	if err != nil || len(ids) != 11 || ids[0] != "u1" || ids[10] != "u11" || deactivated != 6 {
		t.Fatalf("listed %v (%d deactivated), %v", ids, deactivated, err)
	}
	// 3 items a page: startIndex 1, 4, 7, 10 (+ the two discovery attempts,
	// both 404, asked once for the connector's life)
	if n := f.hits.Load(); n != 4+2 {
		t.Errorf("%d requests, want 6", n)
	}
	if err := c.ListAccounts(testCtx(t), func(connectors.Account) error { return nil }); err != nil || f.hits.Load() != 6+4 {
		t.Errorf("second listing: %v after %d requests in all, want 10", err, f.hits.Load())
	}
}

func TestListRefusesAServerThatDoesNotPage(t *testing.T) {
	f := newFake(t, pagedUsers(11, 3, true))
	c := f.connector(t, Config{})
	err := c.ListAccounts(testCtx(t), func(connectors.Account) error { return nil })
	if class, _ := connectors.ClassOf(err); class != connectors.Permanent || connectors.CodeOf(err) != "paging" {
		t.Fatalf("err = %v, want a Permanent paging error instead of looping", err)
	}
}
