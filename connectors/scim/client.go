package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	// maxBody bounds a successful answer: a list page of 100 users with
	// their groups is well under 1 MiB.
	maxBody = 16 << 20
	// transportRetries: transport failures of idempotent requests only (see
	// the package doc, "Retry ownership").
	transportRetries = 2
	mediaType        = "application/scim+json" // RFC 7644 section 3.1
)

// Client makes SCIM HTTP exchanges for one app: auth, the app's rate limit,
// bounded bodies and classified errors.
type Client struct {
	base    *url.URL
	http    *retryablehttp.Client
	limiter *limiter
	log     zerolog.Logger
	now     func() time.Time
	// authorization is the static bearer header value, "" with OAuth2.
	authorization string
}

type idempotentKey struct{}

func newClient(s settings, log zerolog.Logger) *Client {
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 32, // the dispatcher runs several workers per app; keep their connections
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	hc := &http.Client{Timeout: s.timeout, Transport: authTransport(s, transport)}
	rc := &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: 100 * time.Millisecond,
		RetryWaitMax: time.Second,
		RetryMax:     transportRetries,
		CheckRetry:   transportOnly,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	c := &Client{base: s.base, http: rc, limiter: newLimiter(s.rateLimit), log: log, now: time.Now}
	if !s.auth.BearerToken.IsZero() {
		c.authorization = "Bearer " + s.auth.BearerToken.Reveal()
	}
	return c
}

// authTransport adds OAuth 2.0 client credentials tokens (fetched once and
// reused until they expire). A static bearer token needs no transport: do
// sets the header on the request it builds, saving a request clone per
// exchange.
func authTransport(s settings, base http.RoundTripper) http.RoundTripper {
	o := s.auth.OAuth2
	if o == nil {
		return base
	}
	cc := clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(),
		TokenURL: o.TokenURL, Scopes: o.Scopes,
		// HTTP Basic, which every server MUST support (RFC 6749 section
		// 2.3.1); auto-detection would ask twice on every refusal.
		AuthStyle: oauth2.AuthStyleInHeader}
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Timeout: s.timeout, Transport: base})
	return &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, cc.TokenSource(tokenCtx)), Base: base}
}

// transportOnly retries transport failures of idempotent requests and
// nothing else: every HTTP status goes back to the caller, which classifies
// it for the outbox.
func transportOnly(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil || err == nil {
		return false, ctx.Err()
	}
	if idem, _ := ctx.Value(idempotentKey{}).(bool); !idem {
		return false, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return false, nil // the token endpoint answered; asking again will not change its mind
	}
	return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
}

// exchange is one SCIM request.
type exchange struct {
	method string
	path   string     // below the base URL, e.g. "/Users/123"
	query  url.Values // optional
	body   any        // marshalled as JSON when non-nil
	what   string     // for error messages: `create user "alice"`
	// ifMatch makes the request conditional on this ETag (RFC 7644 section 3.14).
	ifMatch string
}

func (x exchange) idempotent() bool { return x.method != http.MethodPost }

// do runs x and decodes a successful JSON answer into out (when non-nil).
// It returns the HTTP status, 0 when there was no answer.
func (c *Client) do(ctx context.Context, x exchange, out any) (int, error) {
	req, err := c.newRequest(ctx, x)
	if err != nil {
		return 0, err
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return 0, fmt.Errorf("scim: %s: waiting for the rate limit: %w", x.what, err)
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.Debug().Str("method", x.method).Str("path", x.path).Err(err).Msg("scim exchange failed")
		return 0, transportError(x.what, err)
	}
	defer drainClose(resp.Body)
	c.log.Debug().Str("method", x.method).Str("path", x.path).Int("status", resp.StatusCode).
		Dur("took", c.now().Sub(start)).Msg("scim exchange")
	return resp.StatusCode, c.readAnswer(x, resp, out)
}

func (c *Client) newRequest(ctx context.Context, x exchange) (*retryablehttp.Request, error) {
	u := c.base.JoinPath(x.path)
	if x.query != nil {
		u.RawQuery = x.query.Encode()
	}
	var body any
	if x.body != nil {
		b, err := json.Marshal(x.body)
		if err != nil {
			return nil, fmt.Errorf("scim: %s: encode body: %w", x.what, err)
		}
		body = b
	}
	ctx = context.WithValue(ctx, idempotentKey{}, x.idempotent())
	req, err := retryablehttp.NewRequestWithContext(ctx, x.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("scim: %s: %w", x.what, err)
	}
	req.Header.Set("Accept", mediaType+", application/json")
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	if x.body != nil {
		req.Header.Set("Content-Type", mediaType)
	}
	if x.ifMatch != "" {
		req.Header.Set("If-Match", x.ifMatch)
	}
	return req, nil
}

// readAnswer classifies an error status (pausing the app's limiter when the
// app asked for it) or decodes a success.
func (c *Client) readAnswer(x exchange, resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		err := classify(x.what, resp.StatusCode, resp.Header, readErrorBody(resp.Body), c.now())
		c.slowDown(err)
		return err
	}
	c.limiter.Succeeded()
	if resp.StatusCode == http.StatusNoContent || x.method == http.MethodDelete {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return transportError(x.what, err)
	}
	return c.decode(x, resp, b, out)
}

func (c *Client) decode(x exchange, resp *http.Response, b []byte, out any) error {
	if len(b) > maxBody {
		return fmt.Errorf("scim: %s: answer larger than %d bytes: %w", x.what, maxBody, errMalformed)
	}
	var e scimError
	// Parse as an error only when the bytes could be one: decoding every
	// success twice cost a tenth of an Update's CPU.
	if mayBeError(b) && json.Unmarshal(b, &e) == nil && e.isError() {
		// 200 with an error document: classify by the status inside it.
		status := e.status()
		if status < 400 {
			status = http.StatusInternalServerError
		}
		return classify(x.what+" (error body with HTTP "+resp.Status+")", status, resp.Header, e, c.now())
	}
	if out == nil {
		return nil
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil // some servers answer a PATCH with 200 and no body
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("scim: %s: %s answer is not SCIM JSON (%s): %w", x.what, resp.Status,
			printable(b[:min(len(b), 80)]), errMalformed)
	}
	return nil
}

func mayBeError(b []byte) bool {
	return bytes.Contains(b, []byte(errorSchema)) || bytes.Contains(b, []byte(`"Errors"`))
}

// errMalformed marks an answer that cannot be understood; it is Retryable
// (unclassified): the next attempt looks the account up again.
var errMalformed = errors.New("malformed answer")

func (c *Client) slowDown(err error) {
	class, after := connectors.ClassOf(err)
	switch {
	case class == connectors.RateLimited:
		c.limiter.RateLimited(after)
	case after > 0:
		c.limiter.PauseFor(after) // 503 with Retry-After: wait, but the rate is not the problem
	}
}

func drainClose(body io.ReadCloser) {
	// Drain a little so the connection is reused; a huge body is cut off.
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
