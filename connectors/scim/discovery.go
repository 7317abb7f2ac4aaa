package scim

import (
	"context"
	"net/http"

	"github.com/dirbridge/dirbridge/connectors"
)

// ServiceProviderConfig is what the server says it supports (RFC 7643
// section 5); only the parts the connector uses.
type ServiceProviderConfig struct {
	Patch supported `json:"patch"`
	Bulk  struct {
		Supported      bool `json:"supported"`
		MaxOperations  int  `json:"maxOperations"`
		MaxPayloadSize int  `json:"maxPayloadSize"`
	} `json:"bulk"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
	ETag supported `json:"etag"`
	// Endpoint is the path that answered: "/ServiceProviderConfig", or the
	// plural form Salesforce and older Slack serve.
	Endpoint string `json:"-"`
}

type supported struct {
	Supported bool `json:"supported"`
}

// Discover reads the ServiceProviderConfig (RFC 7644 section 4), falling back
// to the plural "ServiceProviderConfigs" (the SCIM 1.1 name, still served by
// Salesforce and older Slack). A success is cached for the connector's life.
func (c *Connector) Discover(ctx context.Context) (ServiceProviderConfig, error) {
	c.discMu.Lock()
	defer c.discMu.Unlock()
	if c.disc != nil {
		return *c.disc, nil
	}
	var spc ServiceProviderConfig
	var err error
	for _, path := range []string{"/ServiceProviderConfig", "/ServiceProviderConfigs"} {
		var status int
		status, err = c.client.do(ctx, exchange{method: http.MethodGet, path: path, what: "discover " + path}, &spc)
		if err == nil {
			spc.Endpoint = path
			c.disc = &spc
			return spc, nil
		}
		if status != http.StatusNotFound && status != http.StatusNotImplemented {
			break
		}
	}
	return ServiceProviderConfig{}, err
}

// usePatch decides between PATCH and GET-merge-PUT (a bare PUT would wipe
// whatever the mapping does not cover, RFC 7644 section 3.5.1).
func (c *Connector) usePatch(ctx context.Context) (bool, error) {
	switch {
	case c.s.patch == "always":
		return true, nil
	case c.s.patch == "never" || c.s.profile.PreferPut:
		return false, nil
	}
	spc, err := c.Discover(ctx)
	if err != nil {
		if class, _ := connectors.ClassOf(err); class == connectors.NotFound {
			// No ServiceProviderConfig at all: PATCH is optional (RFC 7644
			// section 3.5.2), so take the path every server supports.
			return false, nil
		}
		return false, err
	}
	return spc.Patch.Supported, nil
}

// pageSize is the configured page size capped by the server's maxResults.
func (c *Connector) pageSize(ctx context.Context) int {
	n := c.s.pageSize
	if spc, err := c.Discover(ctx); err == nil && spc.Filter.MaxResults > 0 && spc.Filter.MaxResults < n {
		n = spc.Filter.MaxResults
	}
	return n
}
