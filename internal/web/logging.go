package web

import (
	"context"
	"log/slog"
)

// NewLogHandler wraps h so that every record logged with a context carrying a request ID (RequestID)
// gets a request_id attribute, unless the record or the logger already has one.
func NewLogHandler(h slog.Handler) slog.Handler {
	return &logHandler{next: h}
}

type logHandler struct {
	next    slog.Handler
	hasID   bool // a request_id attribute was added with WithAttrs
	inGroup bool // attributes now go into a group, where request_id would be misplaced
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" && !h.hasID && !h.inGroup {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "request_id" && !h.inGroup {
			n.hasID = true
		}
	}
	return &n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.next = h.next.WithGroup(name)
	n.inGroup = true
	return &n
}
