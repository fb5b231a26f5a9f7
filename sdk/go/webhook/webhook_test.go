package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	oldSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("old-secret-32-bytes-long-enough!"))
	newSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("new-secret-32-bytes-long-enough!"))
	now       = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	body      = []byte(`{"type":"user.created","timestamp":"2026-06-01T12:00:00Z","data":{"id":"u1"}}`)
)

// signed computes a signature the way the specification describes, independently of Sign.
func signed(secret, id string, ts int64, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ts := now.Unix()
	oldSig, newSig := signed(oldSecret, "msg_1", ts, body), signed(newSecret, "msg_1", ts, body)
	tests := []struct {
		name    string
		secrets []string
		h       http.Header
		body    []byte
		ok      bool
	}{
		{"a delivery signed with the secret passes", []string{newSecret}, headers("msg_1", ts, newSig), body, true},
		{"a rotated pair passes a verifier knowing only the new secret",
			[]string{newSecret}, headers("msg_1", ts, oldSig+" "+newSig), body, true},
		{"a rotated pair passes a verifier knowing only the old secret",
			[]string{oldSecret}, headers("msg_1", ts, oldSig+" "+newSig), body, true},
		{"a verifier holding both secrets accepts the old signature alone",
			[]string{newSecret, oldSecret}, headers("msg_1", ts, oldSig), body, true},
		{"a timestamp four minutes old passes", []string{newSecret},
			headers("msg_1", ts-240, signed(newSecret, "msg_1", ts-240, body)), body, true},
		{"a tampered body is refused", []string{newSecret}, headers("msg_1", ts, newSig),
			bytes.Replace(body, []byte("u1"), []byte("u2"), 1), false},
		{"another id is refused", []string{newSecret}, headers("msg_2", ts, newSig), body, false},
		{"a timestamp six minutes old is refused", []string{newSecret},
			headers("msg_1", ts-360, signed(newSecret, "msg_1", ts-360, body)), body, false},
		{"a timestamp six minutes ahead is refused", []string{newSecret},
			headers("msg_1", ts+360, signed(newSecret, "msg_1", ts+360, body)), body, false},
		{"a far-off timestamp is refused without overflow", []string{newSecret},
			headers("msg_1", -1<<62, signed(newSecret, "msg_1", -1<<62, body)), body, false},
		{"a signature under another secret is refused", []string{newSecret}, headers("msg_1", ts, oldSig), body, false},
		{"a signature of another version is ignored", []string{newSecret},
			headers("msg_1", ts, "v1a,"+strings.TrimPrefix(newSig, "v1,")), body, false},
		{"a missing signature is refused", []string{newSecret}, headers("msg_1", ts, ""), body, false},
		{"a timestamp that is not a number is refused", []string{newSecret},
			http.Header{HeaderID: {"msg_1"}, HeaderTimestamp: {"noon"}, HeaderSignature: {newSig}}, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.secrets...)
			if err != nil {
				t.Fatal(err)
			}
			err = v.WithClock(func() time.Time { return now }).Verify(tt.h, tt.body)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
			if err != nil && (strings.Contains(err.Error(), strings.TrimPrefix(newSecret, "whsec_")) ||
				strings.Contains(err.Error(), strings.TrimPrefix(newSig, "v1,"))) {
				t.Fatalf("error %q reveals a secret or the expected signature", err)
			}
		})
	}
}

func TestSignMatchesTheSpecification(t *testing.T) {
	t.Parallel()
	got, err := Sign(newSecret, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := signed(newSecret, "msg_1", now.Unix(), body); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestNewVerifierRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "secret", "whsec_", "whsec_!!!"} {
		if _, err := NewVerifier(s); err == nil {
			t.Errorf("NewVerifier(%q) accepted it", s)
		}
	}
	if _, err := NewVerifier(); err == nil {
		t.Error("NewVerifier() accepted no secret")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(newSecret)
	if err != nil {
		t.Fatal(err)
	}
	v = v.WithClock(func() time.Time { return now })
	var got []Event
	h := v.Handler(func(r *http.Request, e Event) error {
		got = append(got, e)
		if strings.Contains(string(e.Data), "fail") {
			return errors.New("database down")
		}
		return nil
	})
	send := func(method string, b []byte, sig string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/hooks/umm", bytes.NewReader(b))
		for k, vs := range headers("msg_1", now.Unix(), sig) {
			req.Header[k] = vs
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := send("POST", body, signed(newSecret, "msg_1", now.Unix(), body)); rec.Code != http.StatusNoContent {
		t.Fatalf("signed delivery: status %d %s", rec.Code, rec.Body)
	}
	if len(got) != 1 || got[0].ID != "msg_1" || got[0].Type != "user.created" || string(got[0].Data) != `{"id":"u1"}` ||
		!got[0].Timestamp.Equal(now) {
		t.Fatalf("events = %+v", got)
	}
	tampered := bytes.Replace(body, []byte("u1"), []byte("u2"), 1)
	if rec := send("POST", tampered, signed(newSecret, "msg_1", now.Unix(), body)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("tampered delivery: status %d", rec.Code)
	}
	failing := []byte(`{"type":"user.created","timestamp":"2026-06-01T12:00:00Z","data":{"id":"fail"}}`)
	if rec := send("POST", failing, signed(newSecret, "msg_1", now.Unix(), failing)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("delivery the handler failed: status %d", rec.Code)
	}
	notEvent := []byte(`[1,2]`)
	if rec := send("POST", notEvent, signed(newSecret, "msg_1", now.Unix(), notEvent)); rec.Code != http.StatusBadRequest {
		t.Fatalf("signed non-event: status %d", rec.Code)
	}
	if rec := send("GET", nil, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d", rec.Code)
	}
	if len(got) != 2 {
		t.Fatalf("the handler ran %d times, want 2 (the signed deliveries only)", len(got))
	}
}
