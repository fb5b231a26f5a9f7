package resource

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxIntrospectionCache bounds the answers kept; past it, expired ones are dropped, and if that is not
// enough, all of them.
const maxIntrospectionCache = 10000

// introspector asks the issuer whether a token is still active (RFC 7662) and remembers the answer for a
// short time, keyed by the token's SHA-256 so that no token is kept in memory.
type introspector struct {
	cfg        Introspection
	httpClient *http.Client
	now        func() time.Time

	mu      sync.Mutex
	answers map[[sha256.Size]byte]introspectionAnswer
}

type introspectionAnswer struct {
	active  bool
	expires time.Time
}

func newIntrospector(cfg Introspection, issuer string, c *http.Client, now func() time.Time) *introspector {
	if cfg.Endpoint == "" {
		cfg.Endpoint = issuer + "/introspect"
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 30 * time.Second
	}
	return &introspector{cfg: cfg, httpClient: c, now: now, answers: map[[sha256.Size]byte]introspectionAnswer{}}
}

// check returns nil when the issuer says token is active, an *Error invalid_token when it says it is not,
// and an *Error with status 503 when it could not be asked.
func (in *introspector) check(ctx context.Context, token string, exp time.Time) error {
	sum := sha256.Sum256([]byte(token))
	now := in.now()
	in.mu.Lock()
	a, ok := in.answers[sum]
	in.mu.Unlock()
	if !ok || !now.Before(a.expires) {
		active, err := in.ask(ctx, token)
		if err != nil {
			return errUnavailable(err, "the issuer could not be asked whether the token is still active")
		}
		a = introspectionAnswer{active: active, expires: now.Add(in.cfg.CacheTTL)}
		if active && exp.Before(a.expires) {
			a.expires = exp
		}
		in.remember(sum, a, now)
	}
	if !a.active {
		return errInvalidToken(nil, "the token is no longer active (revoked)")
	}
	return nil
}

func (in *introspector) remember(sum [sha256.Size]byte, a introspectionAnswer, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.answers) >= maxIntrospectionCache {
		for k, v := range in.answers {
			if !now.Before(v.expires) {
				delete(in.answers, k)
			}
		}
		if len(in.answers) >= maxIntrospectionCache {
			clear(in.answers)
		}
	}
	in.answers[sum] = a
}

func (in *introspector) ask(ctx context.Context, token string) (bool, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client id and secret are form-encoded before they are put in Basic.
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	resp, err := in.httpClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("introspect: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize))
	if err != nil {
		return false, fmt.Errorf("introspect: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var oe struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &oe)
		return false, fmt.Errorf("introspect: status %d %s", resp.StatusCode, oe.Error)
	}
	var answer struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return false, fmt.Errorf("introspect: decode: %w", err)
	}
	return answer.Active, nil
}
