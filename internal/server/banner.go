package server

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/playground"
	"github.com/umm-project/umm/internal/store"
)

// Banner is the human-readable text umm serve prints to stderr at start: where everything is and, while
// no tenant has a user, how to create the first one. self is how the operator runs umm ("go run ./cmd/umm"
// from a checkout, or the binary's path) and configPath the --config value ("" for none), so the suggested
// command works as printed.
func (s *Server) Banner(self, configPath string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b strings.Builder
	cfg := s.cfg
	fmt.Fprintf(&b, "\nUMM is starting on %s (public URL %s)\n\n", cfg.Server.Addr, cfg.Server.PublicURL)
	if bt, ok := s.Bootstrap(); ok {
		fmt.Fprintf(&b, "  Management API bootstrap credential (shown this once; only its hash is stored):\n")
		fmt.Fprintf(&b, "    token endpoint: %s/token\n", s.Issuer(bt.Tenant))
		fmt.Fprintf(&b, "    client_id:      %s\n", bt.ClientID)
		fmt.Fprintf(&b, "    client_secret:  %s\n", string(bt.Secret))
		fmt.Fprintf(&b, "    scope:          %s   API: %s%s/openapi.json\n\n", admin.ScopeAdmin, cfg.Server.PublicURL, admin.APIPrefix)
	}

	tenants, err := s.Admin.ListTenants(ctx)
	if err != nil {
		tenants = nil
	}
	const maxShown = 5
	for i, t := range tenants {
		if i == maxShown {
			fmt.Fprintf(&b, "  ... and %d more tenants (umm tenants list)\n\n", len(tenants)-maxShown)
			break
		}
		iss := s.Issuer(t.ID)
		fmt.Fprintf(&b, "  Tenant %q\n", t.ID)
		fmt.Fprintf(&b, "    issuer:        %s\n", iss)
		fmt.Fprintf(&b, "    discovery:     %s/.well-known/openid-configuration\n", iss)
		fmt.Fprintf(&b, "    account page:  %s/account\n", iss)
		if t.Settings.Playground {
			fmt.Fprintf(&b, "    playground:    %s/playground (sign in as an application would and see the tokens)\n", iss)
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(&b, "  database:        %s\n", describeDatabase(cfg.Database.URL))
	switch {
	case cfg.Secrets.MasterKey != "":
		fmt.Fprintf(&b, "  master key:      from secrets.master_key\n")
	case s.MasterKeyCreated:
		fmt.Fprintf(&b, "  master key file: %s (just created, mode 0600: back it up; without it the secrets at rest cannot be read)\n", absPath(cfg.Secrets.MasterKeyFile))
	default:
		fmt.Fprintf(&b, "  master key file: %s\n", absPath(cfg.Secrets.MasterKeyFile))
	}
	fmt.Fprintf(&b, "  health:          %s/healthz, %s/readyz\n", cfg.Server.PublicURL, cfg.Server.PublicURL)
	fmt.Fprintf(&b, "  email:           %s\n", describeEmail(cfg.Email))
	fmt.Fprintf(&b, "  sms:             %s\n", cfg.SMS.Describe())
	switch {
	case cfg.Server.MetricsAddr != "":
		fmt.Fprintf(&b, "  metrics:         http://%s/metrics\n", cfg.Server.MetricsAddr)
	case cfg.Server.MetricsToken != "":
		fmt.Fprintf(&b, "  metrics:         %s/metrics (with the bearer token of server.metrics_token)\n", cfg.Server.PublicURL)
	default:
		fmt.Fprintf(&b, "  metrics:         off (set server.metrics_addr, e.g. 127.0.0.1:9090)\n")
	}

	// The first steps suggested concern the first tenant people sign in to, not the operators' one.
	var first store.Tenant
	for i, t := range tenants {
		if i == 0 || first.ID == cfg.Admin.Tenant {
			first = t
		}
	}
	if first.ID != "" && !s.anyUser(ctx, first.ID) {
		flag := ""
		if configPath != "" {
			flag = " --config " + configPath
		}
		fmt.Fprintf(&b, "\nNo users yet. Create the first one (you will be asked for a password):\n\n")
		fmt.Fprintf(&b, "  %s users create%s --tenant %s --email you@example.com\n\n", self, flag, first.ID)
		if first.Settings.Playground {
			fmt.Fprintf(&b, "then sign in at %s/playground to see what an application receives, or at %s/account\n",
				s.Issuer(first.ID), s.Issuer(first.ID))
		} else {
			fmt.Fprintf(&b, "then sign in at %s/account\n", s.Issuer(first.ID))
		}
	}
	if first.ID != "" && !s.anyOwnClient(ctx, first.ID) {
		flag := ""
		if configPath != "" {
			flag = " --config " + configPath
		}
		fmt.Fprintf(&b, "\nTo sign in from your own application, register it as a client (a public one uses PKCE):\n\n")
		fmt.Fprintf(&b, "  %s clients create%s --tenant %s --id my-app --public --redirect-uri http://localhost:3000/callback\n",
			self, flag, first.ID)
	}
	b.WriteString("\n")
	return b.String()
}

// anyOwnClient reports whether the tenant has a client besides the built-in playground.
func (s *Server) anyOwnClient(ctx context.Context, tenantID string) bool {
	cs, err := s.Admin.ListClients(ctx, tenantID)
	if err != nil {
		return true // on error, say nothing rather than something wrong
	}
	for _, c := range cs {
		if c.ClientID != playground.ClientID {
			return true
		}
	}
	return false
}

func (s *Server) anyUser(ctx context.Context, tenantID string) bool {
	us, err := s.Identity.ListUsers(ctx, tenantID, "", 1)
	return err != nil || len(us) > 0 // on error, say nothing rather than something wrong
}

// describeDatabase shows the database without a password.
func describeDatabase(raw string) string {
	if path, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		return "SQLite (WAL) at " + absPath(strings.TrimPrefix(path, "//"))
	}
	if u, err := url.Parse(raw); err == nil {
		return "PostgreSQL at " + u.Redacted()
	}
	return "PostgreSQL"
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
