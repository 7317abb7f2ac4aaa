package scim

import (
	"context"
	"net/http"
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
	for _, path := range []string{"/ServiceProviderConfig", "/ServiceProviderConfigs"} {
		status, err := c.client.do(ctx, exchange{method: http.MethodGet, path: path, what: "discover " + path}, &spc)
		if err == nil {
			spc.Endpoint = path
			c.disc = &spc
			return spc, nil
		}
		if status != http.StatusNotFound && status != http.StatusNotImplemented {
			return ServiceProviderConfig{}, err
		}
	}
	// Neither exists: remember that (Endpoint ""), so every request does not
	// ask again. Nothing is advertised, so nothing optional is used.
	c.log.Info().Msg("server has no ServiceProviderConfig; assuming no PATCH, no ETags, no bulk")
	c.disc = &ServiceProviderConfig{}
	return *c.disc, nil
}

// usePatch decides between PATCH and GET-merge-PUT (a bare PUT would wipe
// whatever the mapping does not cover, RFC 7644 section 3.5.1).
func (c *Connector) usePatch(ctx context.Context, changes []change) (bool, error) {
	switch {
	case c.s.profile.PathlessActive && onlyPathless(changes):
		// Okta-integrated apps must take PATCH for active even when they
		// take profile updates by PUT only.
		return c.s.patch != "never", nil
	case c.s.patch == "always":
		return true, nil
	case c.s.patch == "never" || c.s.profile.PreferPut:
		return false, nil
	}
	spc, err := c.Discover(ctx)
	if err != nil {
		return false, err
	}
	// Without an advertised PATCH (RFC 7644 section 3.5.2 makes it
	// optional), take the GET-merge-PUT path every server supports.
	return spc.Patch.Supported, nil
}

func onlyPathless(changes []change) bool {
	for _, ch := range changes {
		if ch.path != "" {
			return false
		}
	}
	return len(changes) > 0
}

// pageSize is the configured page size capped by the server's maxResults.
func (c *Connector) pageSize(ctx context.Context) int {
	n := c.s.pageSize
	if spc, err := c.Discover(ctx); err == nil && spc.Filter.MaxResults > 0 && spc.Filter.MaxResults < n {
		n = spc.Filter.MaxResults
	}
	return n
}
