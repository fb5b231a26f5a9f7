package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, ready to serve.
type asset struct {
	name        string
	content     []byte
	contentType string
	version     string // first 12 hex digits of the SHA-256 of content
}

// assets are the embedded static files by name ("umm.css"), loaded once.
var assets = func() map[string]*asset {
	m := map[string]*asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		m[name] = &asset{name: name, content: b, contentType: contentType(name), version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		panic("web: load embedded static files: " + err.Error())
	}
	return m
}()

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// assetURL is the URL of an embedded static file with its content version, "/static/umm.css?v=...", so
// that it can be cached for a year and still change with a new release.
func assetURL(name string) string {
	a, ok := assets[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + a.name + "?v=" + a.version
}

// Static serves web's embedded assets under /static/ (mount it as "GET /static/"): umm.css,
// form_post.js, favicon.svg. A request carrying the current version (?v=, as the asset template
// function writes it) is cached for a year as immutable; others for a day, revalidated by ETag.
// Directories are not listed.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/static/")
		a := assets[name]
		if !ok || a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+a.version+`"`)
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=86400")
		}
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.content))
	})
}
