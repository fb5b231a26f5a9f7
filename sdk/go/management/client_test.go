package management

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 5, 2, 11, 30, 0, 0, time.UTC)
)

const (
	userJSON = `{"id":"u_1","email":"ada@example.com","email_verified":true,"given_name":"Ada","family_name":"Lovelace",
		"status":"active","attributes":{"plan":"pro"},"created_at":"2026-05-01T10:00:00Z","updated_at":"2026-05-02T11:30:00Z"}`
	clientJSON = `{"client_id":"c_1","name":"Shop","redirect_uris":["https://shop.example/cb"],
		"post_logout_redirect_uris":["https://shop.example/"],"grant_types":["authorization_code","refresh_token"],
		"token_endpoint_auth_method":"client_secret_basic","scopes":["openid","orders:read"],"first_party":true,
		"allowed_origins":["https://shop.example"],"mfa_policy":"optional","created_at":"2026-05-01T10:00:00Z",
		"updated_at":"2026-05-02T11:30:00Z"}`
	roleJSON         = `{"name":"clerk","description":"Shop clerk","permissions":[{"api":"https://api.acme.example","permission":"orders:read"}]}`
	groupJSON        = `{"id":"g_1","name":"ops","description":"Operations","roles":["clerk"],"created_at":"2026-05-01T10:00:00Z"}`
	organizationJSON = `{"id":"o_1","name":"initech","display_name":"Initech","branding":{"primary_color":"#336699"},
		"connections":["conn_1"],"created_at":"2026-05-01T10:00:00Z","updated_at":"2026-05-02T11:30:00Z"}`
	apiJSON = `{"id":"a_1","identifier":"https://api.acme.example","name":"Orders",
		"permissions":[{"name":"orders:read","description":"Read orders"}],"token_lifetime":600,
		"claims":["roles","permissions"],"created_at":"2026-05-01T10:00:00Z","updated_at":"2026-05-02T11:30:00Z"}`
	webhookJSON = `{"id":"w_1","url":"https://hooks.example/umm","event_types":["user.created"],"enabled":true,
		"description":"CRM sync","created_at":"2026-05-01T10:00:00Z","updated_at":"2026-05-02T11:30:00Z","disabled_reason":""}`
)

var (
	ada = &User{ID: "u_1", Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "Lovelace",
		Status: "active", Attributes: map[string]any{"plan": "pro"}, CreatedAt: t0, UpdatedAt: t1, ETag: `"v1"`}
	shop = &OAuthClient{ClientID: "c_1", Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"},
		PostLogoutRedirectURIs: []string{"https://shop.example/"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"openid", "orders:read"}, FirstParty: true,
		AllowedOrigins: []string{"https://shop.example"}, MFAPolicy: "optional", CreatedAt: t0, UpdatedAt: t1, ETag: `"v1"`}
	clerk = &Role{Name: "clerk", Description: "Shop clerk",
		Permissions: []RolePermission{{API: "https://api.acme.example", Permission: "orders:read"}}, ETag: `"v1"`}
	ops      = &Group{ID: "g_1", Name: "ops", Description: "Operations", Roles: []string{"clerk"}, CreatedAt: t0, ETag: `"v1"`}
	initech  = &Organization{ID: "o_1", Name: "initech", DisplayName: "Initech", Branding: map[string]any{"primary_color": "#336699"}, Connections: []string{"conn_1"}, CreatedAt: t0, UpdatedAt: t1, ETag: `"v1"`}
	ordersAP = &API{ID: "a_1", Identifier: "https://api.acme.example", Name: "Orders",
		Permissions: []APIPermission{{Name: "orders:read", Description: "Read orders"}}, TokenLifetime: 600,
		Claims: []string{"roles", "permissions"}, CreatedAt: t0, UpdatedAt: t1, ETag: `"v1"`}
	crmHook = &Webhook{ID: "w_1", URL: "https://hooks.example/umm", EventTypes: []string{"user.created"}, Enabled: true,
		Description: "CRM sync", CreatedAt: t0, UpdatedAt: t1, ETag: `"v1"`}
)

// TestEndpoints checks each method's request (method, path, query, content type, If-Match, body) and
// its decoding of the contract's answer.
func TestEndpoints(t *testing.T) {
	f := newFakeUMM(t)
	c := f.client(t)
	ctx := context.Background()
	tests := []struct {
		name                       string
		call                       func() (any, error)
		method, path, query        string
		contentType, ifMatch, body string // body: the JSON expected, "" for none
		status                     int
		answer                     string
		want                       any
	}{
		{"ListUsers filters and pages",
			func() (any, error) {
				return c.ListUsers(ctx, UserListOptions{ListOptions: ListOptions{Limit: 2, Cursor: "abc"}, Email: "ada@example.com", Status: UserActive})
			},
			"GET", "/users", "cursor=abc&email=ada%40example.com&limit=2&status=active", "", "", "",
			200, `{"data":[` + userJSON + `],"next_cursor":"def"}`,
			&Page[User]{Data: []User{func() User { u := *ada; u.ETag = ""; return u }()}, NextCursor: "def"}},
		{"GetUser escapes the id and keeps the ETag",
			func() (any, error) { return c.GetUser(ctx, "u_1") }, "GET", "/users/u_1", "", "", "", "", 200, userJSON, ada},
		{"CreateUser posts the new user",
			func() (any, error) {
				return c.CreateUser(ctx, NewUser{Email: "ada@example.com", GivenName: "Ada", Attributes: map[string]any{"plan": "pro"}})
			},
			"POST", "/users", "", "application/json", "",
			`{"email":"ada@example.com","given_name":"Ada","attributes":{"plan":"pro"}}`, 201, userJSON, ada},
		{"UpdateUser sends a merge patch with If-Match",
			func() (any, error) {
				return c.UpdateUser(ctx, "u_1", UserPatch{GivenName: new("Ada"), Status: new(UserBlocked),
					Attributes: map[string]any{"plan": nil}}, IfMatch(`"v0"`))
			},
			"PATCH", "/users/u_1", "", "application/merge-patch+json", `"v0"`,
			`{"given_name":"Ada","status":"blocked","attributes":{"plan":null}}`, 200, userJSON, ada},
		{"DeleteUser deletes",
			func() (any, error) { return nil, c.DeleteUser(ctx, "u/1") }, "DELETE", "/users/u%2F1", "", "", "", "", 204, "", nil},
		{"SetUserRoles puts the list, empty as []",
			func() (any, error) { return c.SetUserRoles(ctx, "u_1", nil) },
			"PUT", "/users/u_1/roles", "", "application/json", "", `{"roles":[]}`, 200, `{"roles":[]}`, []string{}},

		{"CreateClient returns the secret once",
			func() (any, error) {
				return c.CreateClient(ctx, OAuthClient{Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"}})
			},
			"POST", "/clients", "", "application/json", "", `{"name":"Shop","redirect_uris":["https://shop.example/cb"]}`,
			201, strings.Replace(clientJSON, `"name"`, `"client_secret":"sec","name"`, 1),
			func() *OAuthClient { o := *shop; o.ClientSecret = "sec"; return &o }()},
		{"GetClient", func() (any, error) { return c.GetClient(ctx, "c_1") }, "GET", "/clients/c_1", "", "", "", "", 200, clientJSON, shop},
		{"ListClients", func() (any, error) { return c.ListClients(ctx, ListOptions{}) }, "GET", "/clients", "", "", "", "",
			200, `{"data":[]}`, &Page[OAuthClient]{Data: []OAuthClient{}}},
		{"UpdateClient can empty a list",
			func() (any, error) {
				return c.UpdateClient(ctx, "c_1", ClientPatch{AllowedOrigins: []string{}, FirstParty: new(false)})
			},
			"PATCH", "/clients/c_1", "", "application/merge-patch+json", "", `{"allowed_origins":[],"first_party":false}`,
			200, clientJSON, shop},
		{"DeleteClient", func() (any, error) { return nil, c.DeleteClient(ctx, "c_1", IfMatch(`"v3"`)) },
			"DELETE", "/clients/c_1", "", "", `"v3"`, "", 204, "", nil},
		{"RotateClientSecret", func() (any, error) { return c.RotateClientSecret(ctx, "c_1") },
			"POST", "/clients/c_1/rotate-secret", "", "", "", "", 200, `{"client_secret":"new"}`, "new"},

		{"CreateRole", func() (any, error) {
			return c.CreateRole(ctx, Role{Name: "clerk", Description: "Shop clerk", Permissions: clerk.Permissions})
		}, "POST", "/roles", "", "application/json", "", roleJSON, 201, roleJSON, clerk},
		{"GetRole", func() (any, error) { return c.GetRole(ctx, "clerk") }, "GET", "/roles/clerk", "", "", "", "", 200, roleJSON, clerk},
		{"UpdateRole", func() (any, error) { return c.UpdateRole(ctx, "clerk", RolePatch{Description: new("x")}) },
			"PATCH", "/roles/clerk", "", "application/merge-patch+json", "", `{"description":"x"}`, 200, roleJSON, clerk},
		{"DeleteRole", func() (any, error) { return nil, c.DeleteRole(ctx, "clerk") }, "DELETE", "/roles/clerk", "", "", "", "", 204, "", nil},

		{"CreateGroup", func() (any, error) { return c.CreateGroup(ctx, Group{Name: "ops", Roles: []string{"clerk"}}) },
			"POST", "/groups", "", "application/json", "", `{"name":"ops","roles":["clerk"]}`, 201, groupJSON, ops},
		{"UpdateGroup", func() (any, error) { return c.UpdateGroup(ctx, "g_1", GroupPatch{Roles: []string{}}) },
			"PATCH", "/groups/g_1", "", "application/merge-patch+json", "", `{"roles":[]}`, 200, groupJSON, ops},
		{"ListGroupMembers", func() (any, error) { return c.ListGroupMembers(ctx, "g_1", ListOptions{Limit: 10}) },
			"GET", "/groups/g_1/members", "limit=10", "", "", "", 200,
			`{"data":[{"user_id":"u_1","email":"ada@example.com","added_at":"2026-05-01T10:00:00Z"}]}`,
			&Page[GroupMember]{Data: []GroupMember{{UserID: "u_1", Email: "ada@example.com", AddedAt: t0}}}},
		{"AddGroupMember", func() (any, error) { return nil, c.AddGroupMember(ctx, "g_1", "u_1") },
			"POST", "/groups/g_1/members", "", "application/json", "", `{"user_id":"u_1"}`, 201,
			`{"user_id":"u_1","email":"ada@example.com","added_at":"2026-05-01T10:00:00Z"}`, nil},
		{"RemoveGroupMember", func() (any, error) { return nil, c.RemoveGroupMember(ctx, "g_1", "u_1") },
			"DELETE", "/groups/g_1/members/u_1", "", "", "", "", 204, "", nil},

		{"GetOrganization", func() (any, error) { return c.GetOrganization(ctx, "o_1") },
			"GET", "/organizations/o_1", "", "", "", "", 200, organizationJSON, initech},
		{"UpdateOrganization", func() (any, error) {
			return c.UpdateOrganization(ctx, "o_1", OrganizationPatch{DisplayName: new("Initech Corp"), Branding: map[string]any{"logo_url": nil}})
		}, "PATCH", "/organizations/o_1", "", "application/merge-patch+json", "",
			`{"display_name":"Initech Corp","branding":{"logo_url":null}}`, 200, organizationJSON, initech},
		{"AddOrganizationMember", func() (any, error) { return nil, c.AddOrganizationMember(ctx, "o_1", "u_1", []string{"admin"}) },
			"POST", "/organizations/o_1/members", "", "application/json", "", `{"user_id":"u_1","roles":["admin"]}`, 201, "", nil},
		{"SetOrganizationMemberRoles", func() (any, error) {
			return c.SetOrganizationMemberRoles(ctx, "o_1", "u_1", []string{"viewer"})
		}, "PUT", "/organizations/o_1/members/u_1/roles", "", "application/json", "", `{"roles":["viewer"]}`, 200,
			`{"roles":["viewer"]}`, []string{"viewer"}},
		{"ListOrganizationMembers", func() (any, error) { return c.ListOrganizationMembers(ctx, "o_1", ListOptions{}) },
			"GET", "/organizations/o_1/members", "", "", "", "", 200,
			`{"data":[{"user_id":"u_1","email":"ada@example.com","roles":["admin"],"joined_at":"2026-05-01T10:00:00Z"}]}`,
			&Page[OrganizationMember]{Data: []OrganizationMember{{UserID: "u_1", Email: "ada@example.com", Roles: []string{"admin"}, JoinedAt: t0}}}},
		{"RemoveOrganizationMember", func() (any, error) { return nil, c.RemoveOrganizationMember(ctx, "o_1", "u_1") },
			"DELETE", "/organizations/o_1/members/u_1", "", "", "", "", 204, "", nil},

		{"CreateAPI", func() (any, error) {
			return c.CreateAPI(ctx, API{Identifier: "https://api.acme.example", Name: "Orders", Claims: []string{"roles"}})
		}, "POST", "/apis", "", "application/json", "",
			`{"identifier":"https://api.acme.example","name":"Orders","claims":["roles"]}`, 201, apiJSON, ordersAP},
		{"UpdateAPI", func() (any, error) { return c.UpdateAPI(ctx, "a_1", APIPatch{TokenLifetime: new(0)}) },
			"PATCH", "/apis/a_1", "", "application/merge-patch+json", "", `{"token_lifetime":0}`, 200, apiJSON, ordersAP},

		{"CreateWebhook returns the secret once", func() (any, error) {
			return c.CreateWebhook(ctx, NewWebhook{URL: "https://hooks.example/umm", EventTypes: []string{"user.created"}})
		}, "POST", "/webhooks", "", "application/json", "", `{"url":"https://hooks.example/umm","event_types":["user.created"]}`,
			201, strings.Replace(webhookJSON, `"url"`, `"secret":"whsec_AAAA","url"`, 1),
			func() *Webhook { w := *crmHook; w.Secret = "whsec_AAAA"; return &w }()},
		{"UpdateWebhook disables", func() (any, error) { return c.UpdateWebhook(ctx, "w_1", WebhookPatch{Enabled: new(false)}) },
			"PATCH", "/webhooks/w_1", "", "application/merge-patch+json", "", `{"enabled":false}`, 200, webhookJSON, crmHook},
		{"RotateWebhookSecret", func() (any, error) { return c.RotateWebhookSecret(ctx, "w_1") },
			"POST", "/webhooks/w_1/rotate-secret", "", "", "", "", 200, `{"secret":"whsec_BBBB"}`, "whsec_BBBB"},
		{"ListWebhookDeliveries", func() (any, error) { return c.ListWebhookDeliveries(ctx, "w_1", ListOptions{}) },
			"GET", "/webhooks/w_1/deliveries", "", "", "", "", 200,
			`{"data":[{"id":"d_1","webhook_id":"w_1","event_id":42,"event_type":"user.created","status":"failed","attempts":3,"response_status":500,"created_at":"2026-05-01T10:00:00Z"}]}`,
			&Page[Delivery]{Data: []Delivery{{ID: "d_1", WebhookID: "w_1", EventID: "42", EventType: "user.created",
				Status: "failed", Attempts: 3, ResponseStatus: 500, CreatedAt: t0}}}},
		{"RedeliverWebhook", func() (any, error) { return nil, c.RedeliverWebhook(ctx, "w_1", "d_1") },
			"POST", "/webhooks/w_1/deliveries/d_1/redeliver", "", "", "", "", 202, "", nil},

		{"ListEvents filters by type, user, client and time", func() (any, error) {
			return c.ListEvents(ctx, EventListOptions{Type: "user.created", UserID: "u_1", ClientID: "c_1", Since: t0})
		}, "GET", "/events", "client_id=c_1&since=2026-05-01T10%3A00%3A00Z&type=user.created&user_id=u_1", "", "", "", 200,
			`{"data":[{"id":"7","type":"user.created","actor":"system","subject":"u_1","data":{"via":"api"},"created_at":"2026-05-01T10:00:00Z"}]}`,
			&Page[Event]{Data: []Event{{ID: "7", Type: "user.created", Actor: "system", Subject: "u_1",
				Data: map[string]any{"via": "api"}, CreatedAt: t0}}}},
		{"ListKeys", func() (any, error) { return c.ListKeys(ctx) }, "GET", "/keys", "", "", "", "", 200,
			`{"data":[{"kid":"k1","alg":"ES256","status":"current","created_at":"2026-05-01T10:00:00Z"}]}`,
			[]SigningKey{{KeyID: "k1", Alg: "ES256", Status: "current", CreatedAt: t0}}},
		{"RotateKeys", func() (any, error) { return nil, c.RotateKeys(ctx) }, "POST", "/keys/rotate", "", "", "", "", 204, "", nil},

		{"CheckPermission", func() (any, error) {
			return c.CheckPermission(ctx, CheckRequest{UserID: "u_1", Permission: "orders:read", API: "https://api.acme.example", OrgID: "o_1"})
		}, "POST", "/authz/check", "", "application/json", "",
			`{"user_id":"u_1","permission":"orders:read","api":"https://api.acme.example","org_id":"o_1"}`, 200,
			`{"allowed":true,"reason":"role clerk"}`, &CheckResult{Allowed: true, Reason: "role clerk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.answer(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 200 || tt.status == 201 {
					w.Header().Set("ETag", `"v1"`)
				}
				if tt.answer == "" {
					w.WriteHeader(tt.status)
					return
				}
				writeJSON(w, tt.status, tt.answer)
			})
			got, err := tt.call()
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.recorded()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path || r.Query != tt.query || r.ContentType != tt.contentType || r.IfMatch != tt.ifMatch {
				t.Errorf("request = %s %s ?%s type %q if-match %q, want %s %s ?%s type %q if-match %q",
					r.Method, r.Path, r.Query, r.ContentType, r.IfMatch, tt.method, tt.path, tt.query, tt.contentType, tt.ifMatch)
			}
			if !strings.HasPrefix(r.Auth, "Bearer tok-") {
				t.Errorf("Authorization = %q", r.Auth)
			}
			if !sameJSON(r.Body, tt.body) {
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
			if tt.want == nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v\nwant %#v", got, tt.want)
			}
		})
	}
	if n := f.tokenRequests.Load(); n != 1 {
		t.Errorf("token requests = %d, want 1: the token is reused until it nears expiry", n)
	}
}

func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func TestProblemDetails(t *testing.T) {
	t.Parallel()
	f := newFakeUMM(t)
	c := f.client(t)
	ctx := context.Background()

	t.Run("a validation problem names its fields", func(t *testing.T) {
		f.answer(func(w http.ResponseWriter, r *http.Request) {
			problem(w, 400, "validation", "the client is not valid",
				[]FieldError{{Field: "redirect_uris[0]", Message: "must be an absolute https URL"}})
		})
		_, err := c.CreateClient(ctx, OAuthClient{Name: "x", RedirectURIs: []string{"ftp://x"}})
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("error = %v, want *APIError", err)
		}
		want := &APIError{Status: 400, Type: "https://umm.dev/problems/validation", Title: "Bad Request",
			Detail: "the client is not valid", Errors: []FieldError{{Field: "redirect_uris[0]", Message: "must be an absolute https URL"}}}
		if !reflect.DeepEqual(ae, want) {
			t.Fatalf("error = %#v, want %#v", ae, want)
		}
		if !strings.Contains(err.Error(), "redirect_uris[0]: must be an absolute https URL") {
			t.Errorf("message %q does not name the field", err)
		}
	})
	t.Run("a stale If-Match is 412", func(t *testing.T) {
		f.answer(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-Match") != `"v2"` {
				problem(w, http.StatusPreconditionFailed, "precondition-failed", "the user changed since it was read", nil)
				return
			}
			writeJSON(w, 200, userJSON)
		})
		_, err := c.UpdateUser(ctx, "u_1", UserPatch{GivenName: new("A")}, IfMatch(`"v1"`))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusPreconditionFailed {
			t.Fatalf("error = %v, want a 412 *APIError", err)
		}
	})
	t.Run("429 carries Retry-After", func(t *testing.T) {
		f.answer(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			problem(w, http.StatusTooManyRequests, "rate-limited", "slow down", nil)
		})
		_, err := c.GetUser(ctx, "u_1")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 7*time.Second {
			t.Fatalf("error = %#v, want 429 retrying after 7s", err)
		}
	})
	t.Run("a non-JSON error keeps its status", func(t *testing.T) {
		f.answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "<html>bad gateway</html>", 502) })
		_, err := c.GetUser(ctx, "u_1")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 502 || ae.Title != "Bad Gateway" || ae.Detail != "" {
			t.Fatalf("error = %#v", err)
		}
	})
}

func TestRetryAfterDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if got := retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("retryAfter(date) = %v, want 90s", got)
	}
	if got := retryAfter("soon", now); got != 0 {
		t.Errorf("retryAfter(junk) = %v, want 0", got)
	}
}

func TestAllUsersFollowsCursors(t *testing.T) {
	t.Parallel()
	f := newFakeUMM(t)
	c := f.client(t)
	f.answer(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		var items []string
		for i := start; i < min(start+2, 5); i++ {
			items = append(items, `{"id":"u_`+strconv.Itoa(i)+`","email":"u`+strconv.Itoa(i)+`@example.com"}`)
		}
		next := ""
		if start+2 < 5 {
			next = `,"next_cursor":"` + strconv.Itoa(start+2) + `"`
		}
		writeJSON(w, 200, `{"data":[`+strings.Join(items, ",")+`]`+next+`}`)
	})
	var ids []string
	for u, err := range c.AllUsers(context.Background(), UserListOptions{Status: UserActive}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if strings.Join(ids, ",") != "u_0,u_1,u_2,u_3,u_4" {
		t.Fatalf("ids = %v", ids)
	}
	reqs := f.recorded()
	if len(reqs) != 3 || reqs[2].Query != "cursor=4&status=active" {
		t.Fatalf("requests = %+v", reqs)
	}

	// Stopping early sends no further request.
	f.answer(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[{"id":"a"},{"id":"b"}],"next_cursor":"x"}`)
	})
	for range c.AllUsers(context.Background(), UserListOptions{}) {
		break
	}
	if n := len(f.recorded()); n != 1 {
		t.Fatalf("requests after break = %d, want 1", n)
	}

	// A server repeating a cursor ends the iteration with an error instead of looping.
	var last error
	for _, err := range c.AllUsers(context.Background(), UserListOptions{}) {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "twice") {
		t.Fatalf("last error = %v, want the repeated cursor", last)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()

	t.Run("the token request asks for the management API and the scopes", func(t *testing.T) {
		f := newFakeUMM(t)
		c := f.client(t)
		f.answer(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, userJSON) })
		if _, err := c.GetUser(context.Background(), "u_1"); err != nil {
			t.Fatal(err)
		}
		want := url.Values{"grant_type": {"client_credentials"}, "resource": {f.srv.URL + "/admin/api/v1"},
			"scope": {"umm:admin"}}.Encode()
		if f.tokenForms[0] != want {
			t.Fatalf("token form = %s, want %s", f.tokenForms[0], want)
		}
	})
	t.Run("a refused token is renewed once", func(t *testing.T) {
		f := newFakeUMM(t)
		c := f.client(t)
		f.answer(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, userJSON) })
		if _, err := c.GetUser(context.Background(), "u_1"); err != nil {
			t.Fatal(err)
		}
		f.revokeAll()
		if _, err := c.GetUser(context.Background(), "u_1"); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		if n := f.tokenRequests.Load(); n != 2 {
			t.Fatalf("token requests = %d, want 2", n)
		}
	})
	t.Run("a token near expiry is renewed", func(t *testing.T) {
		f := newFakeUMM(t)
		f.expiresIn = 300
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		cc := &ClientCredentials{TokenURL: f.srv.URL + "/t/acme/token", ClientID: "mgmt", ClientSecret: "s3cr3t",
			HTTPClient: f.srv.Client(), Now: func() time.Time { return now }}
		first, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(269 * time.Second) // renewal is due 30s (a tenth of 300s) before expiry
		if again, _ := cc.Token(context.Background()); again != first {
			t.Fatalf("token renewed too early")
		}
		now = now.Add(2 * time.Second)
		if again, _ := cc.Token(context.Background()); again == first {
			t.Fatalf("token not renewed 29s before expiry")
		}
	})
	t.Run("wrong credentials give a TokenError", func(t *testing.T) {
		f := newFakeUMM(t)
		c, err := New(Config{PublicURL: f.srv.URL, Tenant: "acme", ClientID: "mgmt", ClientSecret: "nope", HTTPClient: f.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetUser(context.Background(), "u_1")
		var te *TokenError
		if !errors.As(err, &te) || te.Code != "invalid_client" || te.Status != 401 {
			t.Fatalf("error = %v, want a TokenError invalid_client", err)
		}
	})
	t.Run("a static token is sent as it is", func(t *testing.T) {
		f := newFakeUMM(t)
		f.valid["given"] = true
		c, err := New(Config{PublicURL: f.srv.URL, Tenant: "acme", TokenSource: StaticToken("given"), HTTPClient: f.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		f.answer(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, userJSON) })
		if _, err := c.GetUser(context.Background(), "u_1"); err != nil {
			t.Fatal(err)
		}
		if f.recorded()[0].Auth != "Bearer given" || f.tokenRequests.Load() != 0 {
			t.Fatalf("requests = %+v", f.recorded())
		}
	})
}

func TestNewNamesMissingFields(t *testing.T) {
	t.Parallel()
	_, err := New(Config{PublicURL: "id.example.com"})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, field := range []string{"PublicURL", "Tenant", "ClientSecret"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}
