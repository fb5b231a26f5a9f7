package webhook_test

import (
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/umm-project/umm/sdk/go/webhook"
)

func Example() {
	v, err := webhook.NewVerifier(os.Getenv("UMM_WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /hooks/umm", v.Handler(func(r *http.Request, e webhook.Event) error {
		switch e.Type {
		case "user.created":
			var u struct{ ID, Email string }
			return json.Unmarshal(e.Data, &u)
		}
		return nil
	}))
}
