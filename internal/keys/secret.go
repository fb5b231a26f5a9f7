package keys

import "log/slog"

// Secret is a token, code, password or cookie value that must never reach a log line, an error message or
// a JSON document by accident. Every way of printing it says REDACTED; convert it with string(s) where the
// value is really needed.
type Secret string

const redacted = "REDACTED"

// String returns "REDACTED", so %v, %s and %q never print the value.
func (Secret) String() string { return redacted }

// GoString returns "REDACTED", so %#v never prints the value.
func (Secret) GoString() string { return redacted }

// LogValue makes log/slog print "REDACTED".
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the secret as "REDACTED", including inside structs logged with slog's JSON handler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the secret as "REDACTED" (text encoders, map keys).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
