package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// writeBody encodes v and sends it with status and content type. v is encoded before anything is sent.
func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"type":"` + ProblemTypeBase + `server-error","title":"Internal Server Error","status":500}` + "\n")
		status, contentType = http.StatusInternalServerError, "application/problem+json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeJSON answers a resource representation.
func writeJSON(w http.ResponseWriter, status int, v any) { writeBody(w, status, "application/json", v) }

// writeResource answers one resource with its strong ETag (and Location when created).
func writeResource(w http.ResponseWriter, status int, location string, v any) error {
	tag, err := etagOf(v)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", tag)
	if location != "" {
		w.Header().Set("Location", location)
	}
	writeJSON(w, status, v)
	return nil
}

// etagOf is the strong entity tag of a representation: a hash of its JSON encoding. Two answers carry
// the same tag exactly when their bodies are byte-for-byte the same.
func etagOf(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("etag: %w", err)
	}
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`, nil
}

// checkIfMatch answers 412 when the request's If-Match names no tag of current. Without If-Match the write
// applies (the caller chose not to guard it); "*" matches any existing resource.
func checkIfMatch(r *http.Request, current any) error {
	h := r.Header.Get("If-Match")
	if h == "" {
		return nil
	}
	tag, err := etagOf(current)
	if err != nil {
		return err
	}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == tag {
			return nil
		}
	}
	return problem(http.StatusPreconditionFailed, "precondition-failed",
		"the resource changed since the ETag in If-Match was read: get it again, reapply the change and send its new ETag")
}

// maxBody bounds a request body read by the API (the server's max_body_bytes applies too).
const maxBody = 1 << 20

// decodeBody reads a JSON object into dst, refusing unknown fields and trailing data, with a field
// error that says what is wrong.
func decodeBody(r *http.Request, dst any, types ...string) error {
	if len(types) == 0 {
		types = []string{"application/json"}
	}
	if err := checkContentType(r, types); err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return invalidInput("the body holds more than one JSON value: send one object")
	}
	return nil
}

func checkContentType(r *http.Request, types []string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	return problem(http.StatusUnsupportedMediaType, "unsupported-media-type",
		fmt.Sprintf("Content-Type %q is not accepted here: send %s", ct, strings.Join(types, " or ")))
}

// bodyError explains a JSON decoding failure with the field it concerns.
func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			f = "(body)"
		}
		return invalidInput("a field has the wrong type", FieldError{Field: f, Message: "must be " + jsonKind(te.Type.Kind().String())})
	case errors.As(err, &se):
		return invalidInput(fmt.Sprintf("the body is not valid JSON (at byte %d): %v", se.Offset, err))
	case errors.Is(err, io.EOF):
		return invalidInput("the body is empty: send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidInput("the body names a field this resource does not have", FieldError{Field: f, Message: "is not a field of this resource (or may not be set here)"})
	}
	return invalidInput("the body could not be read: " + err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

// mergePatch applies an RFC 7386 JSON merge patch to the JSON document doc: members of patch replace
// those of doc, null removes one, and objects merge recursively.
func mergePatch(doc, patch []byte) ([]byte, error) {
	var d, p any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("merge patch: %w", err)
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, invalidInput("the merge patch is not valid JSON: " + err.Error())
	}
	return json.Marshal(mergeValue(d, p))
}

func mergeValue(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
			continue
		}
		dm[k] = mergeValue(dm[k], v)
	}
	return dm
}

// patchInto applies the request's merge patch to current and decodes the result into dst (a writable
// view of the resource), refusing changes to fields outside dst and changes of read-only fields.
func patchInto(r *http.Request, current, dst any, readOnly ...string) error {
	if err := checkContentType(r, []string{"application/merge-patch+json", "application/json"}); err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return invalidInput("the body could not be read: " + err.Error())
	}
	var patch map[string]any
	if err := json.Unmarshal(raw, &patch); err != nil || patch == nil {
		return invalidInput("the body must be a JSON object (an RFC 7386 merge patch)")
	}
	cur, err := json.Marshal(current)
	if err != nil {
		return err
	}
	var curMap map[string]any
	_ = json.Unmarshal(cur, &curMap)
	var fields []FieldError
	for _, f := range readOnly {
		if v, ok := patch[f]; ok {
			if b, _ := json.Marshal(v); !bytes.Equal(b, mustJSON(curMap[f])) {
				fields = append(fields, FieldError{Field: f, Message: "is read-only"})
			}
			delete(patch, f)
			delete(curMap, f)
		}
	}
	if len(fields) > 0 {
		return invalidInput("the patch changes read-only fields", fields...)
	}
	for _, f := range readOnly {
		delete(curMap, f)
	}
	base, _ := json.Marshal(curMap)
	pb, _ := json.Marshal(patch)
	merged, err := mergePatch(base, pb)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// page is a list request's window: at most limit items after the cursor's position.
type page struct {
	limit int
	after string
}

// List sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// pageOf reads ?limit= and ?cursor=.
func pageOf(r *http.Request) (page, error) {
	p := page{limit: defaultPageSize}
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return p, invalidInput("limit is out of range", FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", maxPageSize)})
		}
		p.limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(b), "c1:") {
			return p, invalidInput("cursor is not one this API gave", FieldError{Field: "cursor", Message: "pass the next_cursor of the previous page unchanged"})
		}
		p.after = strings.TrimPrefix(string(b), "c1:")
	}
	return p, nil
}

// cursorFor encodes the position after key.
func cursorFor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c1:" + key))
}

// listBody is every list answer.
type listBody[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// writeList answers one page of items. The store is asked for limit+1 items: when it found more, the
// page is cut and the cursor points after its last item.
func writeList[T any](w http.ResponseWriter, p page, items []T, key func(T) string) {
	body := listBody[T]{Data: items}
	if body.Data == nil {
		body.Data = []T{}
	}
	if len(items) > p.limit {
		body.Data = items[:p.limit]
		body.NextCursor = cursorFor(key(items[p.limit-1]))
	}
	writeJSON(w, http.StatusOK, body)
}

// writePage answers one page of stored items in their representation (see writeList).
func writePage[S, J any](w http.ResponseWriter, p page, xs []S, view func(S) J, key func(J) string) {
	out := make([]J, len(xs))
	for i, x := range xs {
		out[i] = view(x)
	}
	writeList(w, p, out, key)
}

// writeAll answers a whole (short, unpaged) list of stored items in their representation.
func writeAll[S, J any](w http.ResponseWriter, xs []S, view func(S) J) {
	out := make([]J, len(xs))
	for i, x := range xs {
		out[i] = view(x)
	}
	writeJSON(w, http.StatusOK, listBody[J]{Data: out})
}

// timeJSON is how times appear in bodies: RFC 3339 in UTC, or omitted when zero.
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
