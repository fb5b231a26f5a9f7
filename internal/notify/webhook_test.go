package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/config"
)

func TestCheckWebhookURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name, url    string
		allowPrivate bool
		ok           bool
	}{
		{"an https URL of a public address is accepted", "https://93.184.215.14/hooks", false, true},
		{"plain http is refused", "http://93.184.215.14/hooks", false, false},
		{"loopback is refused", "https://127.0.0.1:8443/hooks", false, false},
		{"localhost is refused", "https://localhost/hooks", false, false},
		{"a private address is refused", "https://10.0.0.7/hooks", false, false},
		{"the metadata address is refused", "https://169.254.169.254/latest", false, false},
		{"IPv6 loopback is refused", "https://[::1]/hooks", false, false},
		{"loopback over http is accepted with allow_private_targets", "http://127.0.0.1:8080/hooks", true, true},
		{"user information is refused", "https://u:p@93.184.215.14/", true, false},
		{"a fragment is refused", "https://93.184.215.14/#x", true, false},
		{"another scheme is refused", "ftp://93.184.215.14/", true, false},
		{"a relative URL is refused", "/hooks", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckWebhookURL(ctx, tt.url, tt.allowPrivate)
			if (err == nil) != tt.ok {
				t.Errorf("CheckWebhookURL(%q, %v) = %v, want ok %v", tt.url, tt.allowPrivate, err, tt.ok)
			}
		})
	}
}

func TestWebhookPosterTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	key := []byte("0123456789abcdef0123456789abcdef")

	t.Run("a loopback receiver is refused when connecting without allow_private_targets", func(t *testing.T) {
		p := NewWebhookPoster(config.Webhooks{Timeout: config.Duration(time.Second)})
		p.client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
		before := hits.Load()
		status, err := p.Post(ctx, srv.URL, "msg_1", time.Now(), []byte(`{}`), [][]byte{key})
		if !errors.Is(err, ErrPrivateTarget) || status != 0 || hits.Load() != before {
			t.Errorf("Post = %d, %v; want ErrPrivateTarget and no request", status, err)
		}
	})
	t.Run("with allow_private_targets the receiver gets the request", func(t *testing.T) {
		p := NewWebhookPoster(config.Webhooks{AllowPrivateTargets: true, Timeout: config.Duration(time.Second)})
		p.client.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
		status, err := p.Post(ctx, srv.URL, "msg_1", time.Now(), []byte(`{}`), [][]byte{key})
		if err != nil || status != http.StatusNoContent {
			t.Errorf("Post = %d, %v", status, err)
		}
	})
	t.Run("a redirect is not followed and counts as a failure", func(t *testing.T) {
		var followed atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
		t.Cleanup(target.Close)
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}))
		t.Cleanup(redirect.Close)
		p := NewWebhookPoster(config.Webhooks{AllowPrivateTargets: true, Timeout: config.Duration(time.Second)})
		status, err := p.Post(ctx, redirect.URL, "msg_1", time.Now(), []byte(`{}`), [][]byte{key})
		var se *WebhookStatusError
		if !errors.As(err, &se) || status != http.StatusTemporaryRedirect || followed.Load() != 0 {
			t.Errorf("Post = %d, %v (followed %d); want a 307 failure, not followed", status, err, followed.Load())
		}
	})
	t.Run("a receiver that hangs is abandoned at the timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		t.Cleanup(func() { close(release); slow.Close() })
		p := NewWebhookPoster(config.Webhooks{AllowPrivateTargets: true, Timeout: config.Duration(200 * time.Millisecond)})
		start := time.Now()
		if _, err := p.Post(ctx, slow.URL, "msg_1", time.Now(), []byte(`{}`), [][]byte{key}); err == nil {
			t.Fatal("Post to a hanging receiver succeeded")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Post waited %s", d)
		}
	})
}
