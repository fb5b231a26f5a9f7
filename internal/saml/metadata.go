package saml

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"

	crewjam "github.com/crewjam/saml"
)

// metadataCacheSeconds lets SPs and proxies cache the metadata briefly: it changes only with a key
// rotation, which announces the next key in it well before the key signs anything.
const metadataCacheSeconds = "300"

// handleMetadata is GET /t/{tenant}/saml/metadata: the tenant's IdP metadata (saml-metadata §2.4.3).
// Its URL is the IdP's entity id. It lists the certificate of the current signing key and, during a
// rotation, of the next one.
func (h *IdP) handleMetadata(w http.ResponseWriter, r *http.Request) {
	t, ok := h.tenantOrPage(w, r)
	if !ok {
		return
	}
	certs, err := h.keys.SAMLCertificates(r.Context(), t.ID)
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	base := h.base(t.ID)
	no := false
	idp := crewjam.IDPSSODescriptor{
		SSODescriptor: crewjam.SSODescriptor{
			RoleDescriptor: crewjam.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"},
			SingleLogoutServices: []crewjam.Endpoint{
				{Binding: bindingRedirect, Location: base + "/slo"},
				{Binding: bindingPOST, Location: base + "/slo"},
			},
			NameIDFormats: []crewjam.NameIDFormat{crewjam.EmailAddressNameIDFormat, crewjam.PersistentNameIDFormat,
				crewjam.TransientNameIDFormat, crewjam.UnspecifiedNameIDFormat},
		},
		WantAuthnRequestsSigned: &no,
		SingleSignOnServices: []crewjam.Endpoint{
			{Binding: bindingRedirect, Location: base + "/sso"},
			{Binding: bindingPOST, Location: base + "/sso"},
		},
	}
	for _, c := range certs {
		idp.KeyDescriptors = append(idp.KeyDescriptors, crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{
			X509Data: crewjam.X509Data{X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}}},
		}})
	}
	md := crewjam.EntityDescriptor{EntityID: h.entityID(t.ID), IDPSSODescriptors: []crewjam.IDPSSODescriptor{idp}}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		h.serverError(w, r, t, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age="+metadataCacheSeconds)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(b)
}
