package management

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// Event is an entry of the tenant's audit log.
type Event struct {
	ID        flexID         `json:"id"`
	Type      string         `json:"type"`              // user.created, login.succeeded, ...
	Actor     string         `json:"actor,omitempty"`   // a user id, "client:<id>", "system", ...
	Subject   string         `json:"subject,omitempty"` // what it was done to: a user, client or session id
	ClientID  string         `json:"client_id,omitempty"`
	IP        string         `json:"ip,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// EventListOptions filter and page the events.
type EventListOptions struct {
	ListOptions
	Type     string    // one event type
	UserID   string    // events about or by this user
	ClientID string    // events of this client
	Since    time.Time // events at or after this time
}

func (o EventListOptions) values() url.Values {
	q := o.ListOptions.values()
	setIf(q, "type", o.Type)
	setIf(q, "user_id", o.UserID)
	setIf(q, "client_id", o.ClientID)
	if !o.Since.IsZero() {
		q.Set("since", o.Since.UTC().Format(time.RFC3339))
	}
	return q
}

// ListEvents returns one page of events.
func (c *Client) ListEvents(ctx context.Context, opts EventListOptions) (*Page[Event], error) {
	return list[Event](ctx, c, "/events", opts.values())
}

// AllEvents iterates over every event matching opts.
func (c *Client) AllEvents(ctx context.Context, opts EventListOptions) iter.Seq2[Event, error] {
	return all[Event](ctx, c, "/events", opts.values())
}

// flexID is an identifier the API may write as a JSON string or number; it is kept as a string.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexID(n.String())
	return nil
}
