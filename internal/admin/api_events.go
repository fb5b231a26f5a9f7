package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// apiEvent is an event of the audit log. Its id is a decimal string: ids grow in the order events were
// appended, and JavaScript numbers cannot hold every 64-bit id.
type apiEvent struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Actor     string         `json:"actor"`
	Subject   string         `json:"subject"`
	ClientID  string         `json:"client_id"`
	IP        string         `json:"ip"`
	Data      map[string]any `json:"data"`
	CreatedAt string         `json:"created_at"`
}

func eventJSON(e store.Event) apiEvent {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return apiEvent{ID: strconv.FormatInt(e.ID, 10), Type: e.Type, Actor: e.Actor, Subject: e.Subject, ClientID: e.ClientID,
		IP: e.IP, Data: data, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// Timing of the event stream.
const (
	streamHeartbeat = 15 * time.Second // a comment line keeps proxies from closing an idle stream
	streamPoll      = 500 * time.Millisecond
	streamBatch     = 100
)

var eventFilterParams = []paramDoc{
	{name: "type", desc: "Events of this type, such as user.created."},
	{name: "user_id", desc: "Events about or by this user: its subject, its actor, or the user named in its data."},
	{name: "client_id", desc: "Events of requests of this client."},
}

func (a *API) registerEvents() {
	const base = "/tenants/{tenant}/events"
	r := scopeRead("events")
	a.handle("GET", base, r, a.listEvents)
	a.handle("GET", base+"/stream", r, a.streamEvents)

	const tag = "events"
	a.document("GET", base, opDoc{summary: "Search the audit log, newest first", tag: tag, list: true, answer: apiEvent{},
		query: append(append([]paramDoc{}, eventFilterParams...), append([]paramDoc{
			{name: "since", desc: "Events from this time (RFC 3339), or after this event id."},
			{name: "until", desc: "Events before this time (RFC 3339)."},
		}, pageParams...)...)})
	a.document("GET", base+"/stream", opDoc{summary: "Follow the audit log as Server-Sent Events, oldest first: each event's id line is the event id and its data line the event as GET /events answers it; a comment every 15 s keeps the stream open. It starts after the event named by since or the Last-Event-ID header, or with the events appended from now on.",
		tag: tag, stream: "text/event-stream", query: append(append([]paramDoc{}, eventFilterParams...),
			paramDoc{name: "since", desc: "Start after this event id."})})
}

// eventFilter reads the filters shared by the list and the stream.
func eventFilter(r *http.Request) store.EventQuery {
	q := r.URL.Query()
	return store.EventQuery{Type: q.Get("type"), UserID: q.Get("user_id"), ClientID: q.Get("client_id")}
}

// eventID parses an event id given by the caller.
func eventID(field, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, invalidInput(field+" is not an event id", FieldError{Field: field, Message: "must be the id of an event (a whole number)"})
	}
	return id, nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	f := eventFilter(r)
	f.Limit = p.limit + 1
	q := r.URL.Query()
	var fields []FieldError
	if s := q.Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			f.Since = t
		} else if id, err := strconv.ParseInt(s, 10, 64); err == nil && id >= 0 {
			f.AfterID = id
		} else {
			fields = append(fields, FieldError{Field: "since", Message: "must be a time (RFC 3339, such as 2026-01-02T15:04:05Z) or an event id"})
		}
	}
	if s := q.Get("until"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fields = append(fields, FieldError{Field: "until", Message: "must be a time (RFC 3339, such as 2026-01-02T15:04:05Z)"})
		}
		f.Until = t
	}
	if len(fields) > 0 {
		return invalidInput("the search has parameters to fix", fields...)
	}
	if p.after != "" {
		if f.BeforeID, err = eventID("cursor", p.after); err != nil {
			return err
		}
	}
	evs, err := a.db.QueryEvents(r.Context(), c.tenant, f)
	if err != nil {
		return err
	}
	out := make([]apiEvent, len(evs))
	for i, e := range evs {
		out[i] = eventJSON(e)
	}
	writeList(w, p, out, func(e apiEvent) string { return e.ID })
	return nil
}

// streamEvents sends the tenant's events as Server-Sent Events until the client leaves. It polls the
// store: events carry no change notification, and a poll every half second costs one index range scan.
func (a *API) streamEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	if _, err := a.tenantOf(ctx, c); err != nil {
		return err
	}
	f := eventFilter(r)
	since := r.URL.Query().Get("since")
	if since == "" {
		since = r.Header.Get("Last-Event-ID")
	}
	if since != "" {
		id, err := eventID("since", since)
		if err != nil {
			return err
		}
		f.AfterID = id
	} else {
		last, err := a.db.QueryEvents(ctx, c.tenant, store.EventQuery{Limit: 1})
		if err != nil {
			return err
		}
		if len(last) > 0 {
			f.AfterID = last[0].ID
		}
	}
	f.Oldest, f.Limit = true, streamBatch

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout would cut a long-lived stream
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": events of tenant " + c.tenant + "\n\n") {
		return nil
	}
	poll, beat := time.NewTicker(streamPoll), time.NewTicker(streamHeartbeat)
	defer poll.Stop()
	defer beat.Stop()
	for {
		evs, err := a.db.QueryEvents(ctx, c.tenant, f)
		if err != nil {
			if ctx.Err() == nil {
				a.log.ErrorContext(ctx, "management API event stream", "tenant", c.tenant, "err", err)
			}
			return nil // the answer has begun: the client reconnects with Last-Event-ID
		}
		var b strings.Builder
		for _, e := range evs {
			data, err := json.Marshal(eventJSON(e))
			if err != nil {
				return nil
			}
			b.WriteString("id: " + strconv.FormatInt(e.ID, 10) + "\ndata: " + string(data) + "\n\n")
			f.AfterID = e.ID
		}
		if b.Len() > 0 && !send(b.String()) {
			return nil
		}
		if len(evs) == streamBatch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.streamsEnd:
			return nil
		case <-poll.C:
		case <-beat.C:
			if !send(": heartbeat\n\n") {
				return nil
			}
		}
	}
}
