package login

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/keys"
)

// DeviceCookieName is the long-lived cookie of a browser that completed a sign-in: a random device id
// signed with the master keyring. The known_devices table binds the id to each user who signed in with
// it; a known browser gets its own, much higher, sign-in budget (and is what adaptive MFA builds on).
const DeviceCookieName = "umm_device"

// defaultDeviceCookieTTL is the cookie's lifetime when Deps leaves it zero: the longest browsers keep one.
const defaultDeviceCookieTTL = 400 * 24 * time.Hour

const deviceMACLabel = "umm device"

// deviceMAC binds a device id to its tenant: a cookie copied to another tenant's path does not verify.
func (p *Pages) deviceMAC(tenantID, id string) string {
	return base64.RawURLEncoding.EncodeToString(p.keyring.MAC(deviceMACLabel, []byte(tenantID+"\x00"+id))[:20])
}

// deviceID returns the device id of the request's verified umm_device cookie, or "" when it has none or
// its signature does not verify (a forged or foreign cookie is no device at all).
func (p *Pages) deviceID(r *http.Request, tenantID string) string {
	for _, c := range r.CookiesNamed(DeviceCookieName) {
		id, mac, ok := strings.Cut(c.Value, ".")
		if !ok || id == "" || len(id) > 64 {
			continue
		}
		if hmac.Equal([]byte(mac), []byte(p.deviceMAC(tenantID, id))) {
			return id
		}
	}
	return ""
}

// setDeviceCookie gives the browser a device id (its existing one, or a new one) and sets (renews) the
// cookie. It returns the id.
func (p *Pages) setDeviceCookie(w http.ResponseWriter, r *http.Request, tenantID string) string {
	id := p.deviceID(r, tenantID)
	if id == "" {
		id = keys.NewID()
	}
	http.SetCookie(w, &http.Cookie{Name: DeviceCookieName, Value: id + "." + p.deviceMAC(tenantID, id),
		Path: "/t/" + tenantID + "/", MaxAge: int(p.deviceTTL / time.Second), HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteLaxMode})
	return id
}
