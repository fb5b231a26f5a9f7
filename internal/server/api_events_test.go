package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type eventResp struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Actor    string         `json:"actor"`
	Subject  string         `json:"subject"`
	ClientID string         `json:"client_id"`
	Data     map[string]any `json:"data"`
}

type eventPage struct {
	Data       []eventResp `json:"data"`
	NextCursor string      `json:"next_cursor"`
}

// sseEvent is one event read from a stream: its id line and its data.
type sseEvent struct {
	id    string
	event eventResp
}

// openStream opens the event stream at query with extra headers and returns its events as they come.
// The stream ends with the test.
func openStream(t *testing.T, m *mgmt, query string, headers ...string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", m.srv.URL+admin.APIPrefix+"/tenants/"+m.srv.Tenant+"/events/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET events/stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	ready := make(chan struct{})
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		first := true
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, ":") && first:
				first = false
				close(ready)
			case strings.HasPrefix(line, "id: "):
				cur.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.event) != nil {
					cur.event.Type = "malformed: " + line // no awaited event matches it
				}
			case line == "" && cur.id != "":
				out <- cur
				cur = sseEvent{}
			}
		}
	}()
	select {
	case <-ready: // the stream has begun: what is written from now on will come
	case <-time.After(10 * time.Second):
		t.Fatal("the stream sent nothing")
	}
	return out
}

// awaitEvent reads from a stream until an event satisfies ok, failing after a deadline.
func awaitEvent(t *testing.T, ch <-chan sseEvent, what string, ok func(sseEvent) bool) sseEvent {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e, open := <-ch:
			if !open {
				t.Fatalf("the stream ended before %s", what)
			}
			if ok(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("the stream did not send %s", what)
		}
	}
}

func TestAPIEvents(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/events"
			newUser := func(email string) string {
				var u struct {
					ID string `json:"id"`
				}
				m.ok(http.StatusCreated, "POST", "/tenants/"+srv.Tenant+"/users", map[string]any{"email": email}).json(t, &u)
				return u.ID
			}
			ann, bob := newUser("ann@example.com"), newUser("bob@example.com")
			m.ok(http.StatusOK, "PATCH", "/tenants/"+srv.Tenant+"/users/"+ann, map[string]any{"given_name": "Ann"})

			t.Run("filtered by type", func(t *testing.T) {
				var page eventPage
				m.ok(http.StatusOK, "GET", base+"?type="+events.TypeUserCreated, nil).json(t, &page)
				subjects := map[string]bool{}
				for _, e := range page.Data {
					if e.Type != events.TypeUserCreated {
						t.Errorf("type filter answered %+v", e)
					}
					subjects[e.Subject] = true
				}
				if !subjects[ann] || !subjects[bob] {
					t.Errorf("user.created of %s and %s missing: %+v", ann, bob, page.Data)
				}
				if actor := page.Data[0].Actor; actor != operatorActor(t, srv) {
					t.Errorf("newest user.created by %q, want the calling client", actor)
				}
			})
			t.Run("filtered by user", func(t *testing.T) {
				var page eventPage
				m.ok(http.StatusOK, "GET", base+"?user_id="+ann, nil).json(t, &page)
				types := map[string]bool{}
				for _, e := range page.Data {
					if e.Subject != ann && e.Actor != ann && e.Data["user_id"] != ann {
						t.Errorf("user filter answered an event of someone else: %+v", e)
					}
					types[e.Type] = true
				}
				if !types[events.TypeUserCreated] || !types[events.TypeUserUpdated] {
					t.Errorf("events of %s: %+v", ann, page.Data)
				}
			})
			t.Run("pages go from newest to oldest", func(t *testing.T) {
				var ids []int64
				cursor := ""
				for range 20 {
					var page eventPage
					r := m.ok(http.StatusOK, "GET", base+"?limit=2"+cursor, nil)
					r.json(t, &page)
					for _, e := range page.Data {
						id, err := strconv.ParseInt(e.ID, 10, 64)
						if err != nil {
							t.Fatalf("id %q", e.ID)
						}
						ids = append(ids, id)
					}
					if page.NextCursor == "" {
						if strings.Contains(string(r.body), "next_cursor") {
							t.Errorf("the last page names next_cursor: %s", r.body)
						}
						break
					}
					cursor = "&cursor=" + page.NextCursor
				}
				if len(ids) < 5 {
					t.Fatalf("only %d events listed", len(ids))
				}
				for i := 1; i < len(ids); i++ {
					if ids[i] >= ids[i-1] {
						t.Fatalf("ids not strictly newest first: %v", ids)
					}
				}
				var since eventPage
				m.ok(http.StatusOK, "GET", base+"?since="+strconv.FormatInt(ids[2], 10), nil).json(t, &since)
				if len(since.Data) != 2 {
					t.Errorf("since the third newest event: %d events, want 2", len(since.Data))
				}
			})
			t.Run("bad filters are field errors", func(t *testing.T) {
				p := m.do("GET", base+"?since=yesterday&until=soon", nil).problem(t, http.StatusBadRequest)
				if len(p.Errors) != 2 || p.Errors[0].Field != "since" || p.Errors[1].Field != "until" {
					t.Errorf("errors %+v, want since and until", p.Errors)
				}
				var none eventPage
				m.ok(http.StatusOK, "GET", base+"?until=2000-01-01T00:00:00Z", nil).json(t, &none)
				if len(none.Data) != 0 {
					t.Errorf("events before 2000: %+v", none.Data)
				}
			})

			t.Run("the stream sends an event appended after it opened", func(t *testing.T) {
				ch := openStream(t, m, "")
				carl := newUser("carl@example.com")
				got := awaitEvent(t, ch, "carl's user.created", func(e sseEvent) bool {
					return e.event.Type == events.TypeUserCreated && e.event.Subject == carl
				})
				if got.id != got.event.ID {
					t.Errorf("id line %q, event id %q", got.id, got.event.ID)
				}
			})
			t.Run("the stream resumes after Last-Event-ID with the filters applied", func(t *testing.T) {
				ch := openStream(t, m, "?type="+events.TypeUserCreated, "Last-Event-ID", "0")
				seen := map[string]bool{}
				awaitEvent(t, ch, "the earlier user.created of ann and bob", func(e sseEvent) bool {
					if e.event.Type != events.TypeUserCreated {
						t.Errorf("type filter let %+v through", e.event)
					}
					seen[e.event.Subject] = true
					return seen[ann] && seen[bob]
				})
			})
			t.Run("a malformed start is refused before the stream begins", func(t *testing.T) {
				p := m.do("GET", base+"/stream?since=abc", nil).problem(t, http.StatusBadRequest)
				if len(p.Errors) == 0 || p.Errors[0].Field != "since" {
					t.Errorf("errors %+v", p.Errors)
				}
			})
			t.Run("the events need the events scope", func(t *testing.T) {
				c := scopedCaller(t, m, srv.Tenant, "umm:users:read")
				c.do("GET", base, nil).problem(t, http.StatusForbidden)
				c.do("GET", base+"/stream", nil).problem(t, http.StatusForbidden)
			})
		})
	}
}
