package admin

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestEventStreamEndsWithEndStreams(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	tid := storetest.Tenant(t, db)
	ctx := context.Background()
	if err := db.AppendEvent(ctx, store.Event{TenantID: tid, Type: "user.created", Subject: "ann"}); err != nil {
		t.Fatal(err)
	}
	evs, err := db.QueryEvents(ctx, tid, store.EventQuery{Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v, %v", evs, err)
	}
	a := NewAPI(APIDeps{Service: New(Deps{DB: db}), DB: db})
	a.EndStreams() // as at a shutdown: the stream sends what it has, then ends instead of waiting for more
	rec := httptest.NewRecorder()
	done := make(chan error, 1)
	go func() {
		done <- a.streamEvents(rec, httptest.NewRequest("GET", APIPrefix+"/tenants/"+tid+"/events/stream?since=0", nil), &call{tenant: tid})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after EndStreams")
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if body := rec.Body.String(); !strings.Contains(body, "id: "+strconv.FormatInt(evs[0].ID, 10)+"\ndata: {") {
		t.Errorf("the stream did not send the stored event before ending:\n%s", body)
	}
}
