package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// IdempotencyWindow is how long a POST's Idempotency-Key replays its first answer.
const IdempotencyWindow = 24 * time.Hour

// maxIdempotencyKey bounds the header's length.
const maxIdempotencyKey = 255

// storedAnswer is a replayable answer.
type storedAnswer struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header"`
	Body   []byte            `json:"body"`
}

// replayedHeaders are the answer headers worth replaying.
var replayedHeaders = []string{"Content-Type", "Location", "ETag"}

func idempotencyAAD(tenantID, clientID, key string) []byte {
	return []byte("idempotency|" + tenantID + "|" + clientID + "|" + key)
}

// idempotent runs a POST under its Idempotency-Key: the first request with a key runs and its answer is
// kept (sealed) for IdempotencyWindow; a repeat with the same request gets that answer again (with
// Idempotency-Replayed: true), a repeat with another request 422, and one sent while the first still runs
// 409. A request that failed on the server's side forgets the key, so the client can retry it.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, c *call, h func(http.ResponseWriter, *http.Request, *call) error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		a.writeError(w, r, invalidInput("Idempotency-Key is too long", FieldError{Field: "Idempotency-Key", Message: "must be at most 255 characters (a UUID is typical)"}))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		a.writeError(w, r, invalidInput("the body could not be read: "+err.Error()))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	sum.Write(body)
	p := c.principal
	ctx := r.Context()
	claimed, prev, err := a.db.ClaimIdempotencyKey(ctx, store.IdempotencyKey{
		TenantID: p.tenant, ClientID: p.clientID, Key: key, RequestHash: sum.Sum(nil), ExpiresAt: a.now().Add(IdempotencyWindow),
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !claimed {
		a.replay(w, r, prev, sum.Sum(nil))
		return
	}
	rec := httptest.NewRecorder()
	if err := h(rec, r, c); err != nil {
		a.writeError(rec, r, err)
	}
	if rec.Code >= 500 || rec.Code == http.StatusTooManyRequests {
		_ = a.db.ReleaseIdempotencyKey(ctx, p.tenant, p.clientID, key)
	} else if err := a.keep(r, p, key, rec); err != nil {
		a.log.ErrorContext(ctx, "keep idempotent answer", "err", err)
		_ = a.db.ReleaseIdempotencyKey(ctx, p.tenant, p.clientID, key)
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (a *API) keep(r *http.Request, p principal, key string, rec *httptest.ResponseRecorder) error {
	ans := storedAnswer{Status: rec.Code, Header: map[string]string{}, Body: rec.Body.Bytes()}
	for _, h := range replayedHeaders {
		if v := rec.Header().Get(h); v != "" {
			ans.Header[h] = v
		}
	}
	plain, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	sealed, err := a.svc.keyring.Seal(plain, idempotencyAAD(p.tenant, p.clientID, key))
	if err != nil {
		return err
	}
	return a.db.FinishIdempotencyKey(r.Context(), p.tenant, p.clientID, key, rec.Code, sealed)
}

func (a *API) replay(w http.ResponseWriter, r *http.Request, prev store.IdempotencyKey, hash []byte) {
	if !bytes.Equal(prev.RequestHash, hash) {
		a.writeError(w, r, problem(http.StatusUnprocessableEntity, "idempotency-key-reused",
			"this Idempotency-Key was used with a different request: use a new key for a new request"))
		return
	}
	if prev.Status == 0 {
		w.Header().Set("Retry-After", "1")
		a.writeError(w, r, problem(http.StatusConflict, "idempotency-key-in-use",
			"the first request with this Idempotency-Key is still running: retry shortly"))
		return
	}
	plain, err := a.svc.keyring.Open(prev.Response, idempotencyAAD(prev.TenantID, prev.ClientID, prev.Key))
	var ans storedAnswer
	if err == nil {
		err = json.Unmarshal(plain, &ans)
	}
	if err != nil {
		a.writeError(w, r, errors.Join(errors.New("replay idempotent answer"), err))
		return
	}
	for k, v := range ans.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Idempotency-Replayed", "true")
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body)
}
