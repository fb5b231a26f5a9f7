package federation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"golang.org/x/sync/singleflight"

	"github.com/umm-project/umm/internal/config"
)

const (
	// samlMetadataTTL is how long fetched IdP metadata is used before it is fetched again: connectors
	// are built for each sign-in, and the IdP should not see a metadata fetch for each of them, yet a
	// rotated signing certificate is picked up within the hour.
	samlMetadataTTL = time.Hour
	// samlMetadataStale is how long a copy is still used when the IdP's metadata endpoint is down: a
	// sign-in that the IdP itself could serve should not fail only because its metadata URL is.
	samlMetadataStale = 24 * time.Hour
	// samlMetadataMax bounds a metadata document; one IdP's metadata is a few kilobytes.
	samlMetadataMax = 5 << 20
)

type samlMetadataEntry struct {
	ed      *saml.EntityDescriptor
	fetched time.Time
}

// samlMetadataCache holds fetched IdP metadata by URL, in this process only: it is a public document,
// so tenants that name the same URL may share it.
var samlMetadataCache = struct {
	sync.Mutex
	m map[string]samlMetadataEntry
}{m: map[string]samlMetadataEntry{}}

// samlMetadataFetches makes the sign-ins that find the cached copy too old at the same moment share
// one fetch.
var samlMetadataFetches singleflight.Group

// samlIdPMetadata is the IdP's metadata of c: the inline XML, or the document at its URL.
func samlIdPMetadata(ctx context.Context, env Env, c config.Connection) (*saml.EntityDescriptor, error) {
	if c.MetadataXML != "" {
		ed, err := samlParseIdPMetadata([]byte(c.MetadataXML))
		if err != nil {
			return nil, fmt.Errorf("saml: metadata_xml: %w", err)
		}
		return ed, nil
	}
	if c.MetadataURL == "" {
		return nil, fmt.Errorf("saml: the connection has neither metadata_url nor metadata_xml")
	}
	now := env.Now()
	samlMetadataCache.Lock()
	cached, ok := samlMetadataCache.m[c.MetadataURL]
	samlMetadataCache.Unlock()
	if ok && now.Sub(cached.fetched) < samlMetadataTTL {
		return cached.ed, nil
	}
	v, err, _ := samlMetadataFetches.Do(c.MetadataURL, func() (any, error) {
		return samlFetchMetadata(ctx, env.HTTP, c.MetadataURL)
	})
	ed, _ := v.(*saml.EntityDescriptor)
	if err != nil {
		if ok && now.Sub(cached.fetched) < samlMetadataStale {
			if env.Log != nil {
				env.Log.Warn("saml metadata fetch failed, using the copy fetched before", "url", c.MetadataURL,
					"fetched", cached.fetched, "err", err)
			}
			return cached.ed, nil
		}
		return nil, fmt.Errorf("%w: saml metadata %s: %v", ErrUnavailable, c.MetadataURL, err)
	}
	samlMetadataCache.Lock()
	samlMetadataCache.m[c.MetadataURL] = samlMetadataEntry{ed: ed, fetched: now}
	samlMetadataCache.Unlock()
	return ed, nil
}

func samlFetchMetadata(ctx context.Context, hc *http.Client, u string) (*saml.EntityDescriptor, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, samlMetadataMax+1))
	if err != nil {
		return nil, err
	}
	if len(body) > samlMetadataMax {
		return nil, fmt.Errorf("document larger than %d bytes", samlMetadataMax)
	}
	return samlParseIdPMetadata(body)
}

// samlParseIdPMetadata reads an IdP's metadata (an EntityDescriptor, or an aggregate holding one IdP)
// and makes sure it is usable: an IdP role with a signing certificate, since unsigned assertions are
// never accepted.
func samlParseIdPMetadata(data []byte) (*saml.EntityDescriptor, error) {
	ed, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("not valid IdP metadata: %w", err)
	}
	if ed.EntityID == "" {
		return nil, fmt.Errorf("not valid IdP metadata: no entityID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return nil, fmt.Errorf("not valid IdP metadata: no IDPSSODescriptor")
	}
	for _, d := range ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if (kd.Use == "" || kd.Use == "signing") && len(kd.KeyInfo.X509Data.X509Certificates) > 0 {
				return ed, nil
			}
		}
	}
	return nil, fmt.Errorf("not valid IdP metadata: no signing certificate")
}
