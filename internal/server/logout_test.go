package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

// logoutReceiver is a client's back-channel logout endpoint. It checks each logout token's signature
// against the issuer's published JWKS with go-jose, as a relying party does, and counts tokens per sid.
type logoutReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	jwks   string // the issuer's jwks_uri
	mu     sync.Mutex
	perSid map[string]int
	bad    []string
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	rc := &logoutReceiver{t: t, perSid: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, err := rc.verify(r.PostFormValue("logout_token"))
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, "bad logout token", http.StatusBadRequest)
			return
		}
		rc.perSid[sid]++
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *logoutReceiver) verify(tok string) (string, error) {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return "", err
	}
	resp, err := http.Get(rc.jwks)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return "", err
	}
	ks := set.Key(jws.Signatures[0].Protected.KeyID)
	if len(ks) != 1 {
		return "", errUnknownKid
	}
	payload, err := jws.Verify(ks[0])
	if err != nil {
		return "", err
	}
	var c struct {
		Sid    string                     `json:"sid"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if _, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		return "", errUnknownKid
	}
	return c.Sid, nil
}

type receiverError string

func (e receiverError) Error() string { return string(e) }

const errUnknownKid = receiverError("the logout token's kid or event is unknown")

func (rc *logoutReceiver) counts() (map[string]int, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.perSid {
		out[k] = v
	}
	return out, append([]string(nil), rc.bad...)
}

// TestBackchannelLogoutThroughTheWiredServer runs two nodes on one database: every session ended reaches
// the client's back-channel endpoint once, delivered by whichever node's worker claims it.
func TestBackchannelLogoutThroughTheWiredServer(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			rc := newLogoutReceiver(t)
			slo := config.ClientSeed{ClientID: "slo", ClientSecret: "slo-client-secret-0123456789", Name: "SLO App",
				RedirectURIs: []string{servertest.RedirectURI}, PostLogoutRedirectURIs: []string{servertest.PostLogoutRedirectURI},
				GrantTypes: []string{"authorization_code"}, TokenEndpointAuthMethod: "client_secret_basic", FirstParty: true,
				BackchannelLogoutURI: rc.srv.URL + "/backchannel", BackchannelLogoutSessionRequired: true}
			a := servertest.New(t, servertest.WithBackend(backend), servertest.WithClient(slo))
			b := servertest.New(t, servertest.WithPeer(a), servertest.WithClient(slo))
			rc.jwks = a.TenantURL("/jwks.json")
			client := servertest.Client{ID: slo.ClientID, Secret: slo.ClientSecret, RedirectURI: servertest.RedirectURI}

			var d struct {
				BackchannelLogoutSupported bool `json:"backchannel_logout_supported"`
				BackchannelLogoutSession   bool `json:"backchannel_logout_session_supported"`
			}
			_, body := a.NewBrowser(t).Get(a.TenantURL("/.well-known/openid-configuration"))
			_, _ = b.NewBrowser(t).Get(b.TenantURL("/.well-known/openid-configuration")) // node b is up
			if err := json.Unmarshal([]byte(body), &d); err != nil || !d.BackchannelLogoutSupported || !d.BackchannelLogoutSession {
				t.Fatalf("discovery does not advertise back-channel logout: %s", body)
			}

			// Three browsers sign in through the client; one signs out (RP-initiated), then an operator disables
			// the user, which ends the other two. Both nodes' workers compete for the messages.
			var sids []string
			var hint string
			for i := range 3 {
				node := a
				br := node.NewBrowser(t)
				code, verifier := codeFlow(t, node, br, client, "openid")
				tr := token(t, node, client, url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {client.RedirectURI}, "code_verifier": {verifier}})
				sids = append(sids, sidOf(t, tr.IDToken))
				if i == 0 {
					hint = tr.IDToken
					resp, _ := br.Get(a.TenantURL("/logout?" + url.Values{"id_token_hint": {hint},
						"post_logout_redirect_uri": {servertest.PostLogoutRedirectURI}}.Encode()))
					if resp.StatusCode != http.StatusFound {
						t.Fatalf("RP-initiated logout answered %d", resp.StatusCode)
					}
				}
			}
			if err := a.Identity.SetDisabled(context.Background(), a.Tenant, a.User.ID, true, "test"); err != nil {
				t.Fatal(err)
			}

			deadline := time.Now().Add(20 * time.Second)
			for {
				ms, err := a.DB.ListOutbox(context.Background(), a.Tenant)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := rc.counts()
				if len(ms) == 0 && len(got) == len(sids) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 20s: outbox %+v, received %v, want one token for each of %v", ms, got, sids)
				}
				time.Sleep(50 * time.Millisecond)
			}
			got, bad := rc.counts()
			if len(bad) > 0 {
				t.Errorf("the receiver refused tokens: %v", bad)
			}
			for _, sid := range sids {
				if got[sid] != 1 {
					t.Errorf("session %s: %d logout tokens, want exactly 1 (all: %v)", sid, got[sid], got)
				}
			}
			es, err := a.DB.ListEvents(context.Background(), a.Tenant, 0, events.TypeOutboxDelivered, 100)
			if err != nil || len(es) != len(sids) {
				t.Errorf("%d outbox.delivered events (%v), want %d", len(es), err, len(sids))
			}
		})
	}
}

// sidOf reads the sid claim of an ID token the test received from the token endpoint over TLS-free
// loopback; the signature is checked by the receiver's path, not needed here.
func sidOf(t *testing.T, idToken string) string {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", idToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Sid == "" {
		t.Fatalf("no sid in the ID token: %s", b)
	}
	return c.Sid
}
