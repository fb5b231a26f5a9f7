package management_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/umm-project/umm/sdk/go/management"
)

func Example() {
	ctx := context.Background()
	mc, err := management.New(management.Config{
		PublicURL:    "https://id.acme.example",
		Tenant:       "acme",
		ClientID:     "provisioner",
		ClientSecret: os.Getenv("UMM_CLIENT_SECRET"),
		Scopes:       []string{"umm:users:read", "umm:users:write", "umm:authz:check"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for u, err := range mc.AllUsers(ctx, management.UserListOptions{Status: management.UserActive}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.ID, u.Email)
	}
	u, err := mc.GetUser(ctx, "u_123")
	if err != nil {
		log.Fatal(err)
	}
	_, err = mc.UpdateUser(ctx, u.ID, management.UserPatch{
		Status:     new(management.UserBlocked),
		Attributes: map[string]any{"plan": nil},
	}, management.IfMatch(u.ETag))
	var apiErr *management.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusPreconditionFailed:
			// read again and retry
		case http.StatusTooManyRequests:
			time.Sleep(apiErr.RetryAfter)
		default:
			for _, f := range apiErr.Errors {
				log.Printf("%s: %s", f.Field, f.Message)
			}
		}
	}
	res, err := mc.CheckPermission(ctx, management.CheckRequest{
		UserID: "u_123", Permission: "orders:refund", API: "https://api.acme.example", OrgID: "org_9",
	})
	if err == nil && res.Allowed {
		fmt.Println("allowed:", res.Reason)
	}
}
