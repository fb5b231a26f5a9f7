package federation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxUpstreamBody bounds what UMM reads from an upstream answer; discovery documents, key sets, tokens
// and profiles are all far smaller.
const maxUpstreamBody = 1 << 20

// defaultUpstreamClient is used when the environment has no client of its own.
var defaultUpstreamClient = &http.Client{Timeout: 10 * time.Second}

func (env Env) client() *http.Client {
	if env.HTTP != nil {
		return env.HTTP
	}
	return defaultUpstreamClient
}

func (env Env) now() time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

func (env Env) log() *slog.Logger {
	if env.Log != nil {
		return env.Log
	}
	return slog.New(slog.DiscardHandler)
}

// pkceChallenge is the S256 code challenge of a verifier (RFC 7636).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameString compares secrets and one-time values without leaking where they differ.
func sameString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// checkBegin refuses to start a sign-in without the values that bind the callback to this browser.
func checkBegin(b *Begin, needNonce bool) error {
	if b == nil || b.State == "" || b.Verifier == "" || (needNonce && b.Nonce == "") {
		return errors.New("federation: a sign-in needs a state, a PKCE verifier and (for OpenID) a nonce")
	}
	return nil
}

// callbackParams reads the callback (query of a redirect, or form of a form_post) and checks the parts
// every OAuth answer shares: the state, then an error the upstream reports. It answers the code. The
// state is checked first so that a callback forged into someone's browser, even one that only says
// "refused", is told apart from a real answer of the upstream.
func callbackParams(r *http.Request, b Begin, denied []string) (url.Values, string, error) {
	if err := r.ParseForm(); err != nil {
		return nil, "", fmt.Errorf("%w: callback parameters: %v", ErrInvalidResponse, err)
	}
	f := r.Form
	if got := f.Get("state"); got == "" || !sameString(got, b.State) {
		return f, "", fmt.Errorf("%w: callback state does not match the sign-in's", ErrInvalidResponse)
	}
	if e := f.Get("error"); e != "" {
		desc := clip(f.Get("error_description"), 200)
		if e == "access_denied" || slices.Contains(denied, e) {
			return f, "", fmt.Errorf("%w: %s: %s", ErrDenied, e, desc)
		}
		return f, "", fmt.Errorf("%w: upstream answered error %q: %s", ErrInvalidResponse, clip(e, 64), desc)
	}
	code := f.Get("code")
	if code == "" {
		return f, "", fmt.Errorf("%w: callback has no authorization code", ErrInvalidResponse)
	}
	return f, code, nil
}

// clip shortens upstream text kept in error messages.
func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// clientAuth is how UMM proves to a token endpoint that it is the client.
type clientAuth int

const (
	authAuto  clientAuth = iota // basic, then post when the server refuses basic (remembered per endpoint)
	authBasic                   // client_secret_basic: HTTP Basic with the form-encoded id and secret
	authPost                    // client_secret_post: id and secret in the form
	authNone                    // a public client: only client_id in the form
)

// authStyles remembers, per token endpoint, which way worked for servers without discovery, so only
// the first sign-in pays for a refused attempt.
var authStyles sync.Map // token URL -> clientAuth

// tokenAnswer is a token endpoint's answer.
type tokenAnswer struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	IDToken      string
	ExpiresIn    int64
	Scope        string
}

// tokenRequest exchanges a code at tokenURL. form has the grant's parameters; clientID and secret are
// added as auth says.
func tokenRequest(ctx context.Context, env Env, tokenURL string, form url.Values, clientID, secret string, auth clientAuth) (tokenAnswer, error) {
	if secret == "" {
		auth = authNone
	}
	if auth == authAuto {
		if v, ok := authStyles.Load(tokenURL); ok {
			auth = v.(clientAuth)
		} else {
			ans, status, err := postToken(ctx, env, tokenURL, form, clientID, secret, authBasic)
			if err == nil {
				authStyles.Store(tokenURL, authBasic)
				return ans, nil
			}
			// A server that does not take Basic answers 401 or invalid_client before it looks at the
			// code, so the code is still good for a second try with the secret in the form.
			if status != http.StatusUnauthorized && !errors.Is(err, errInvalidClient) {
				return ans, err
			}
			ans, _, err = postToken(ctx, env, tokenURL, form, clientID, secret, authPost)
			if err == nil {
				authStyles.Store(tokenURL, authPost)
			}
			return ans, err
		}
	}
	ans, _, err := postToken(ctx, env, tokenURL, form, clientID, secret, auth)
	return ans, err
}

// errInvalidClient marks a token endpoint's invalid_client answer, so the automatic choice of client
// authentication can try the other way.
var errInvalidClient = errors.New("invalid_client")

func postToken(ctx context.Context, env Env, tokenURL string, params url.Values, clientID, secret string, auth clientAuth) (tokenAnswer, int, error) {
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	switch auth {
	case authPost:
		form.Set("client_id", clientID)
		form.Set("client_secret", secret)
	case authNone:
		form.Set("client_id", clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, 0, fmt.Errorf("%w: token endpoint: %v", ErrInvalidResponse, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Some servers (GitHub) answer form-encoded unless asked for JSON; both are read below anyway.
	req.Header.Set("Accept", "application/json")
	if auth == authBasic {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := env.client().Do(req)
	if err != nil {
		return tokenAnswer{}, 0, fmt.Errorf("%w: token endpoint: %v", ErrUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint: reading the answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint answered %d", ErrUnavailable, resp.StatusCode)
	}
	doc, perr := parseTokenBody(body)
	// Errors come as 400/401 per the standard, or as 200 with an error member (GitHub).
	if e := stringOf(doc["error"]); e != "" {
		err := fmt.Errorf("%w: token endpoint answered %d %s: %s", ErrInvalidResponse, resp.StatusCode, clip(e, 64),
			clip(stringOf(doc["error_description"]), 200))
		if e == "invalid_client" {
			err = fmt.Errorf("%w (%w)", err, errInvalidClient)
		}
		return tokenAnswer{}, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint answered %d", ErrInvalidResponse, resp.StatusCode)
	}
	if perr != nil {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint answer: %v", ErrInvalidResponse, perr)
	}
	ans := tokenAnswer{AccessToken: stringOf(doc["access_token"]), TokenType: stringOf(doc["token_type"]),
		RefreshToken: stringOf(doc["refresh_token"]), IDToken: stringOf(doc["id_token"]), Scope: stringOf(doc["scope"])}
	if s := stringOf(doc["expires_in"]); s != "" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 {
			ans.ExpiresIn = int64(n)
		}
	}
	if ans.AccessToken == "" {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint answer has no access_token", ErrInvalidResponse)
	}
	if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
		return tokenAnswer{}, resp.StatusCode, fmt.Errorf("%w: token endpoint answered token_type %q, not Bearer", ErrInvalidResponse, clip(ans.TokenType, 32))
	}
	return ans, resp.StatusCode, nil
}

// parseTokenBody reads a token answer: a JSON object, or form-encoded (GitHub's default). The body
// decides rather than the Content-Type, which some servers get wrong (JSON sent as text/plain).
func parseTokenBody(body []byte) (map[string]any, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		doc, err := decodeObject(trimmed)
		if err != nil {
			return map[string]any{}, err
		}
		return doc, nil
	}
	q, err := url.ParseQuery(string(trimmed))
	if err != nil {
		return map[string]any{}, errors.New("neither JSON nor form-encoded")
	}
	doc := map[string]any{}
	for k := range q {
		doc[k] = q.Get(k)
	}
	return doc, nil
}

// decodeObject decodes a JSON object keeping numbers exact (account ids are often large integers).
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New("not a JSON object")
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	return doc, nil
}

// getJSON fetches a JSON object. Bearer, when set, is sent as the access token. Network errors and
// server errors are ErrUnavailable; other refusals and malformed answers ErrInvalidResponse.
func getJSON(ctx context.Context, env Env, what, u, bearer string, header http.Header) (map[string]any, error) {
	body, err := getBody(ctx, env, what, u, bearer, header)
	if err != nil {
		return nil, err
	}
	doc, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidResponse, what, err)
	}
	return doc, nil
}

// getJSONArray is getJSON for an answer that is a JSON array of objects.
func getJSONArray(ctx context.Context, env Env, what, u, bearer string, header http.Header) ([]map[string]any, error) {
	body, err := getBody(ctx, env, what, u, bearer, header)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var list []map[string]any
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("%w: %s: not a JSON array of objects", ErrInvalidResponse, what)
	}
	return list, nil
}

func getBody(ctx context.Context, env Env, what, u, bearer string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidResponse, what, redactURLError(err))
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := env.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %v", ErrUnavailable, what, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, fmt.Errorf("%w: %s answered %d", ErrUnavailable, what, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrInvalidResponse, what, resp.StatusCode)
	}
	return body, nil
}

// redactURLError drops the URL from a transport error: a userinfo URL may carry a token in its query
// (Facebook's appsecret_proof), and the endpoint is known from the message's context anyway.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
