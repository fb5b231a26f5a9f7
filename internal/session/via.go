package session

import "context"

type viaKey struct{}

// WithVia marks ctx as a sign-in through the upstream connection id: the login.succeeded event of the
// session it starts names the connection.
func WithVia(ctx context.Context, connection string) context.Context {
	if connection == "" {
		return ctx
	}
	return context.WithValue(ctx, viaKey{}, connection)
}

// ViaFrom is the connection WithVia set, "" for a sign-in at UMM itself.
func ViaFrom(ctx context.Context) string {
	v, _ := ctx.Value(viaKey{}).(string)
	return v
}
