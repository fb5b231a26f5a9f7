package login

import (
	"fmt"
	"html/template"
	"image/color"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the blank margin around a QR code, in modules (ISO/IEC 18004 asks for 4).
const qrQuietZone = 4

// qrSVG renders content as a QR code in an inline <svg>: drawn by UMM, so the secret it carries never
// goes to an image service, and needing no data: URL (the CSP allows none). Each run of dark modules in a
// row is one segment of a single path, which keeps the markup small. The result holds nothing but numbers
// we computed and the label, escaped, so it is safe as template.HTML.
func qrSVG(content, label string) (template.HTML, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	n := code.Bounds().Dx()
	size := n + 2*qrQuietZone
	var path strings.Builder
	for y := range n {
		for x := 0; x < n; {
			if !dark(code.At(x, y)) {
				x++
				continue
			}
			run := 1
			for x+run < n && dark(code.At(x+run, y)) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+qrQuietZone, y+qrQuietZone, run, run)
			x += run
		}
	}
	return template.HTML(fmt.Sprintf(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*5, size*5, template.HTMLEscapeString(label), size, size, path.String())), nil
}

// dark reports whether a module of the QR code is dark.
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b < 3*0x8000
}
