package web

import "net/http"

// AllowImage widens this response's img-src for the origin of an https image URL (a sign-in button's
// logo); data: images are allowed already, and anything else is left out.
func AllowImage(w http.ResponseWriter, raw string) { widenDirective(w, "img-src", raw) }
