package admin

import "github.com/umm-project/umm/internal/config"

// validateLogout checks the client's single-logout settings (OpenID Connect Back-Channel Logout 1.0 §2.2,
// Front-Channel Logout 1.0 §2), the same rules as the seed's.
func (in *ClientInput) validateLogout(p *problems) {
	for _, f := range []struct{ field, uri string }{
		{"backchannel_logout_uri", in.BackchannelLogoutURI}, {"frontchannel_logout_uri", in.FrontchannelLogoutURI},
	} {
		if f.uri == "" {
			continue
		}
		if err := config.CheckLogoutURI(f.uri); err != nil {
			p.add(f.field, err.Error())
		}
	}
	if in.BackchannelLogoutSessionRequired && in.BackchannelLogoutURI == "" {
		p.add("backchannel_logout_session_required", "needs backchannel_logout_uri")
	}
	if in.FrontchannelLogoutSessionRequired && in.FrontchannelLogoutURI == "" {
		p.add("frontchannel_logout_session_required", "needs frontchannel_logout_uri")
	}
}
