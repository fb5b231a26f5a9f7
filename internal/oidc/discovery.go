package oidc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
)

// discoveryTTL is how long a node reuses a tenant's computed document. It only changes when a client
// registers a new custom scope, which drops it at once (invalidate.go); the TTL is the safety net.
const discoveryTTL = time.Minute

// discoveryCacheControl lets clients and proxies cache the document for five minutes.
const discoveryCacheControl = "public, max-age=300"

// metadata is the OpenID Provider Metadata (OIDC Discovery 1.0 §3) and the OAuth 2.0 Authorization Server
// Metadata (RFC 8414 §2): the same document, field order fixed for readability.
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValues          []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgValues  []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	RevocationEndpointAuthSigningAlgValues     []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ClaimTypesSupported                        []string `json:"claim_types_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
	BackchannelLogoutSessionSupported          bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSessionSupported         bool     `json:"frontchannel_logout_session_supported"`
}

// idTokenSigningAlgs are the JWS algorithms UMM signs ID tokens with.
var idTokenSigningAlgs = []string{"RS256", "ES256"}

// assertionSigningAlgs are the JWS algorithms accepted in private_key_jwt client assertions (assertionAlgs),
// at every endpoint that authenticates clients.
var assertionSigningAlgs = func() []string {
	out := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		out[i] = string(a)
	}
	return out
}()

// buildMetadata returns the document of tenant t whose clients register scopes.
func (p *Provider) buildMetadata(t store.Tenant, clients []store.Client) metadata {
	iss := p.issuer(t.ID)
	// Revocation authenticates clients exactly as the token endpoint does, and a public client ("none")
	// may revoke its own tokens (RFC 7009 §5). Introspection needs a confidential client (RFC 7662 §2.1:
	// the endpoint is protected), and answers active only to the client a token was issued to or one in
	// its aud (§4). RFC 8414 §2: with private_key_jwt listed, the signing algorithms must be listed too.
	return metadata{
		Issuer:                                    iss,
		AuthorizationEndpoint:                     iss + "/authorize",
		TokenEndpoint:                             iss + "/token",
		UserinfoEndpoint:                          iss + "/userinfo",
		JWKSURI:                                   iss + "/jwks.json",
		EndSessionEndpoint:                        iss + "/logout",
		IntrospectionEndpoint:                     iss + "/introspect",
		RevocationEndpoint:                        iss + "/revoke",
		DeviceAuthorizationEndpoint:               iss + "/device_authorization",
		ScopesSupported:                           tenantScopes(clients),
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{modeQuery, modeFormPost},
		GrantTypesSupported:                       config.GrantTypes,
		SubjectTypesSupported:                     []string{"public"},
		IDTokenSigningAlgValuesSupported:          idTokenSigningAlgs,
		TokenEndpointAuthMethodsSupported:         config.AuthMethods,
		TokenEndpointAuthSigningAlgValues:         assertionSigningAlgs,
		IntrospectionEndpointAuthMethodsSupported: confidentialAuthMethods,
		IntrospectionEndpointAuthSigningAlgValues: assertionSigningAlgs,
		RevocationEndpointAuthMethodsSupported:    config.AuthMethods,
		RevocationEndpointAuthSigningAlgValues:    assertionSigningAlgs,
		CodeChallengeMethodsSupported:             []string{"S256"},
		ClaimsSupported:                           tenantClaims(t.Settings.Profile),
		ClaimTypesSupported:                       []string{"normal"},
		PromptValuesSupported:                     []string{promptNone, promptLogin, promptConsent, "select_account"},
		ACRValuesSupported:                        p.reachableACRs(t),
		// The claims parameter is honoured for acr (essential or voluntary, OIDC Core §5.5.1.1); other
		// requested claims are voluntary and released by scope.
		ClaimsParameterSupported:                   true,
		AuthorizationResponseIssParameterSupported: true,
		// Back-Channel Logout 1.0 §2.1, Front-Channel Logout 1.0 §3: logout tokens carry sid, the iframes get
		// iss and sid, and ID tokens issued within a session carry the same sid.
		BackchannelLogoutSupported:         true,
		BackchannelLogoutSessionSupported:  true,
		FrontchannelLogoutSupported:        true,
		FrontchannelLogoutSessionSupported: true,
	}
}

// reachableACRs are the classes of session.ACRs that a sign-in at tenant t can reach on this server, so
// that acr_values_supported advertises only what works: one factor always; two when some second factor
// can be used (an authenticator app, an emailed code, a texted code with an SMS provider configured, or a
// passkey, which verifies the user and counts as two); phishing-resistant only when passkeys work on this
// server (https, or localhost) and the tenant allows them as the first step or as a second factor.
func (p *Provider) reachableACRs(t store.Tenant) []string {
	if p.identity == nil {
		return session.ACRs
	}
	mfa, login := t.Settings.MFA, t.Settings.Login
	passkeys := p.identity.PasskeysUsable(t) && (login.Allows(config.MethodPasskey) || mfa.Allows(config.FactorWebAuthn))
	second := passkeys || mfa.Allows(config.FactorTOTP) || mfa.Allows(config.FactorEmail) ||
		(mfa.Allows(config.FactorSMS) && p.identity.SendSMS != nil)
	out := []string{session.ACROneFactor}
	if second {
		out = append(out, session.ACRTwoFactors)
	}
	if passkeys {
		out = append(out, session.ACRPhishingResistant)
	}
	return out
}

type discoveryEntry struct {
	body    []byte
	expires time.Time
}

// metadataJSON returns the tenant's document, computed at most once per discoveryTTL per node.
func (p *Provider) metadataJSON(r *http.Request, t store.Tenant) ([]byte, error) {
	now := time.Now()
	if v, ok := p.discovery.Load(t.ID); ok {
		if e := v.(*discoveryEntry); now.Before(e.expires) {
			return e.body, nil
		}
	}
	gen := p.invalidations.Load()
	defer p.dropIfInvalidated(gen, func() { p.discovery.Delete(t.ID) })
	clients, err := p.db.ListClients(r.Context(), t.ID)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	body, err := json.Marshal(p.buildMetadata(t, clients))
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	p.discovery.Store(t.ID, &discoveryEntry{body: body, expires: now.Add(discoveryTTL)})
	return body, nil
}

// handleDiscovery serves /t/{tenant}/.well-known/openid-configuration (OIDC Discovery 1.0 §4).
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) { p.serveMetadata(w, r) }

// handleMetadata serves the RFC 8414 document, both at /.well-known/oauth-authorization-server/t/{tenant}
// (RFC 8414 §3.1, the well-known segment inserted before the issuer's path) and at
// /t/{tenant}/.well-known/oauth-authorization-server (what many clients try).
func (p *Provider) handleMetadata(w http.ResponseWriter, r *http.Request) { p.serveMetadata(w, r) }

func (p *Provider) serveMetadata(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenantOrJSON(w, r)
	if !ok {
		return
	}
	body, err := p.metadataJSON(r, t)
	if err != nil {
		p.writeJSONServerError(w, r, "discovery", t.ID, err)
		return
	}
	writePublicJSON(w, body, discoveryCacheControl)
}

var (
	hdrContentType   = http.CanonicalHeaderKey("Content-Type")
	hdrContentLength = http.CanonicalHeaderKey("Content-Length")
	hdrCacheControl  = http.CanonicalHeaderKey("Cache-Control")
)

// writePublicJSON writes a public, cacheable JSON document (discovery, JWKS). Single-page apps fetch it
// directly, from the origins the tenant's clients allow (cors.go).
func writePublicJSON(w http.ResponseWriter, body []byte, cacheControl string) {
	h := w.Header()
	h[hdrContentType] = []string{"application/json"}
	h[hdrContentLength] = []string{strconv.Itoa(len(body))}
	h[hdrCacheControl] = []string{cacheControl}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// confidentialAuthMethods are the client authentication methods that prove a credential (introspection
// refuses public clients).
var confidentialAuthMethods = []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
