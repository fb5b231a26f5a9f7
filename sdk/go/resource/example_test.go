package resource_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/umm-project/umm/sdk/go/resource"
)

func Example() {
	v, err := resource.New(resource.Config{
		Issuer:   "https://id.acme.example/t/acme",
		Audience: "https://api.acme.example",
	})
	if err != nil {
		log.Fatal(err)
	}
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := resource.ClaimsFrom(r.Context())
		fmt.Fprintln(w, c.Subject, c.ClientID, c.Permissions, c.OrgID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Require("orders:read")(me))
	mux.Handle("GET /me", v.Middleware(me))
}
