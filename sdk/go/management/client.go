// Package management is a client of UMM's management API, {public_url}/admin/api/v1, for one tenant:
// users, clients, roles, groups, organizations, APIs, webhooks, events and signing keys, and the
// authorization check. It authenticates with an access token from a TokenSource, by default one that
// runs the client credentials grant against the tenant's token endpoint and caches the token.
//
// Errors from the API are *APIError values (RFC 9457 problem details); use errors.As. Lists come a page
// at a time (ListUsers) or as an iterator over every page (AllUsers).
package management

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client. PublicURL and Tenant are required, and either TokenSource or ClientID and
// ClientSecret.
type Config struct {
	// PublicURL is UMM's public URL, https://id.example.com.
	PublicURL string
	// Tenant is the id of the tenant managed.
	Tenant string
	// ClientID and ClientSecret are a confidential client of the tenant allowed the client_credentials
	// grant and the umm:* scopes it needs.
	ClientID     string
	ClientSecret string
	// Scopes are requested with the token; empty: the client's registered scopes.
	Scopes []string
	// TokenURL is the token endpoint of the client credentials grant; default the tenant's,
	// {public_url}/t/{tenant}/token.
	TokenURL string
	// TokenSource, when set, is used instead of the client credentials grant.
	TokenSource TokenSource
	// HTTPClient sends every request; default an http.Client with a 30 second timeout.
	HTTPClient *http.Client
	// UserAgent is sent with every request; default "umm-go-sdk".
	UserAgent string
}

// Client calls the management API of one tenant. It is safe for concurrent use.
type Client struct {
	base   string // {public_url}/admin/api/v1/tenants/{tenant}
	tokens TokenSource
	http   *http.Client
	ua     string
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	var problems []string
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	if u, err := url.Parse(public); public == "" || err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, "PublicURL must be UMM's absolute URL, like https://id.example.com")
	}
	if cfg.Tenant == "" {
		problems = append(problems, "Tenant is required")
	}
	if cfg.TokenSource == nil && (cfg.ClientID == "" || cfg.ClientSecret == "") {
		problems = append(problems, "set TokenSource, or ClientID and ClientSecret of a confidential client")
	}
	if len(problems) > 0 {
		return nil, errors.New("management: " + strings.Join(problems, "; "))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "umm-go-sdk"
	}
	c := &Client{base: public + "/admin/api/v1/tenants/" + url.PathEscape(cfg.Tenant), tokens: cfg.TokenSource,
		http: cfg.HTTPClient, ua: cfg.UserAgent}
	if cfg.TokenURL == "" {
		cfg.TokenURL = public + "/t/" + url.PathEscape(cfg.Tenant) + "/token"
	}
	if c.tokens == nil {
		c.tokens = &ClientCredentials{
			TokenURL: cfg.TokenURL, ClientID: cfg.ClientID,
			ClientSecret: cfg.ClientSecret, Scopes: cfg.Scopes, Resource: public + "/admin/api/v1",
			HTTPClient: cfg.HTTPClient,
		}
	}
	return c, nil
}

// RequestOption changes one request.
type RequestOption func(*request)

// IfMatch makes an update or delete conditional on the resource still having etag (the ETag field of
// what a get or an update returned); when it changed meanwhile, the API answers 412.
func IfMatch(etag string) RequestOption { return func(r *request) { r.ifMatch = etag } }

type request struct {
	method, path string
	query        url.Values
	body         any
	contentType  string
	ifMatch      string
}

const mergePatch = "application/merge-patch+json"

// maxResponse bounds what is read of one answer.
const maxResponse = 32 << 20

// do sends r and decodes a successful answer's body into out (when not nil), returning the answer's
// headers. A 401 makes it drop a cached token and try once more with a new one, since a token may be
// refused before its announced expiry (revoked client, rotated keys).
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("management: encode %s %s: %w", r.method, r.path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		token, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("management: token: %w", err)
		}
		resp, err := c.send(ctx, r, body, token)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			if cc, ok := c.tokens.(*ClientCredentials); ok {
				resp.Body.Close()
				cc.invalidate(token)
				continue
			}
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		if err != nil {
			return nil, fmt.Errorf("management: %s %s: read: %w", r.method, r.path, err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, decodeProblem(resp, data)
		}
		if out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return nil, fmt.Errorf("management: %s %s: decode: %w", r.method, r.path, err)
			}
		}
		return resp.Header, nil
	}
}

func (c *Client) send(ctx context.Context, r request, body []byte, token string) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("management: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("management: %s %s: %w", r.method, r.path, err)
	}
	return resp, nil
}

// etagged is a resource that carries the ETag of the answer it came in.
type etagged interface{ setETag(string) }

// call sends r with opts applied and decodes the answer into a new T, with the answer's ETag when T keeps one.
func call[T any](ctx context.Context, c *Client, r request, opts []RequestOption) (*T, error) {
	for _, o := range opts {
		o(&r)
	}
	v := new(T)
	h, err := c.do(ctx, r, v)
	if err != nil {
		return nil, err
	}
	if e, ok := any(v).(etagged); ok {
		e.setETag(h.Get("ETag"))
	}
	return v, nil
}

// exec sends r with opts applied and discards the answer's body.
func (c *Client) exec(ctx context.Context, r request, opts []RequestOption) error {
	for _, o := range opts {
		o(&r)
	}
	_, err := c.do(ctx, r, nil)
	return err
}

// Page is one page of a list.
type Page[T any] struct {
	Data []T `json:"data"`
	// NextCursor is passed as ListOptions.Cursor to get the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListOptions page through a list.
type ListOptions struct {
	// Limit is the page size: default 50, at most 200.
	Limit int
	// Cursor is the NextCursor of the previous page; empty for the first page.
	Cursor string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

func list[T any](ctx context.Context, c *Client, path string, q url.Values) (*Page[T], error) {
	return call[Page[T]](ctx, c, request{method: http.MethodGet, path: path, query: q}, nil)
}

// all iterates over every item of every page from q's cursor on. An error is yielded once, last.
func all[T any](ctx context.Context, c *Client, path string, q url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := cloneQuery(q)
		seen := map[string]bool{}
		for {
			p, err := list[T](ctx, c, path, q)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range p.Data {
				if !yield(v, nil) {
					return
				}
			}
			if p.NextCursor == "" {
				return
			}
			if seen[p.NextCursor] {
				var zero T
				yield(zero, fmt.Errorf("management: GET %s: the server returned cursor %q twice", path, p.NextCursor))
				return
			}
			seen[p.NextCursor] = true
			q.Set("cursor", p.NextCursor)
		}
	}
}

// cloneQuery copies q, so that an iterator run twice starts from the same page.
func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func seg(s string) string { return "/" + url.PathEscape(s) }
