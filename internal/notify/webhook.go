package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/notify/stdwebhook"
)

// ErrPrivateTarget is returned for a webhook URL whose host is, or resolves to, a loopback, private,
// link-local or otherwise non-public address while webhooks.allow_private_targets is off.
var ErrPrivateTarget = errors.New("the host is a loopback, private or otherwise non-public address; " +
	"webhooks reach only public addresses unless webhooks.allow_private_targets is on")

// maxWebhookAnswer is how much of a receiver's answer is read: enough to reuse the connection after a
// short answer; the answer itself is never kept (a receiver may echo what it got).
const maxWebhookAnswer = 4 << 10

// CheckWebhookURL reports why raw cannot be a subscription's URL: it must be an absolute http(s) URL
// without user information or fragment, https unless allowPrivate, and its host must not be, nor resolve
// to, a non-public address unless allowPrivate. A host that does not resolve now is accepted (its
// deliveries fail until it does); the address is checked again at every connection.
func CheckWebhookURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q must be an absolute https URL", raw)
	case u.User != nil:
		return fmt.Errorf("%q must not contain a user name or password", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%q must not contain a fragment", raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q must be an https URL", raw)
	case u.Scheme == "http" && !allowPrivate:
		return fmt.Errorf("%q must use https (plain http only with webhooks.allow_private_targets)", raw)
	case len(raw) > 2000:
		return errors.New("must be at most 2000 characters")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if !PublicAddr(ip.Unmap()) {
			return ErrPrivateTarget
		}
		return nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return ErrPrivateTarget
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if !PublicAddr(a.Unmap()) {
			return ErrPrivateTarget
		}
	}
	return nil
}

// WebhookPoster POSTs event webhooks to the tenants' subscriptions, signed as the Standard Webhooks
// specification says. Each attempt lasts at most webhooks.timeout; redirects are not followed (a 3xx is
// a failure: the subscription should name its final URL); no proxy is used, so that the address checked
// is the one connected to; and unless webhooks.allow_private_targets, every connection is refused whose
// address is not public, after DNS resolution, so that a name re-pointed at an internal address after
// the subscription was saved reaches nothing.
type WebhookPoster struct {
	client       *http.Client
	allowPrivate bool
}

// NewWebhookPoster returns a poster for cfg.
func NewWebhookPoster(cfg config.Webhooks) *WebhookPoster {
	p := &WebhookPoster{allowPrivate: cfg.AllowPrivateTargets}
	timeout := cfg.Timeout.D()
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout, Control: p.checkDial}
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    timeout,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConns:           32,
			IdleConnTimeout:        90 * time.Second,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return p
}

// checkDial refuses a connection to a non-public address (see WebhookPoster).
func (p *WebhookPoster) checkDial(_, address string, _ syscall.RawConn) error {
	if p.allowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !PublicAddr(ip.Unmap()) {
		return ErrPrivateTarget
	}
	return nil
}

// WebhookStatusError is a receiver's answer other than 2xx.
type WebhookStatusError struct{ Status int }

func (e *WebhookStatusError) Error() string {
	if e.Status >= 300 && e.Status < 400 {
		return fmt.Sprintf("status %d: redirects are not followed", e.Status)
	}
	return fmt.Sprintf("status %d", e.Status)
}

// Post sends body to target as message id at ts, signed with every key in keys (the current secret
// first). It returns the answer's status code (0 when there was none) and an error unless it was 2xx.
// Errors name the target without its query and never contain a key.
func (p *WebhookPoster) Post(ctx context.Context, target, id string, ts time.Time, body []byte, keys [][]byte) (int, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && p.allowPrivate)) {
		return 0, errors.New("the URL is not https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the URL is not valid")
	}
	req.Header.Set(stdwebhook.HeaderID, id)
	req.Header.Set(stdwebhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(stdwebhook.HeaderSignature, stdwebhook.SignAll(keys, id, ts.Unix(), body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "UMM-Webhooks")
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPrivateTarget) {
			return 0, ErrPrivateTarget
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, whose query may carry a token
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, &WebhookStatusError{Status: resp.StatusCode}
	}
	return resp.StatusCode, nil
}
