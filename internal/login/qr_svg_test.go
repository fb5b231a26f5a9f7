package login

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// TestQRSVGDrawsEveryModule reads the path of qrSVG back into a matrix and compares it with the QR code's
// modules: every dark module drawn once, no light one, and the quiet zone kept.
func TestQRSVGDrawsEveryModule(t *testing.T) {
	const uri = "otpauth://totp/Acme%20Corp:ada@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
	svg, err := qrSVG(uri, `QR "code" <for> you`)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if strings.Contains(s, `"code"`) || strings.Contains(s, "<for>") {
		t.Errorf("the label is not escaped: %s", s)
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	n := code.Bounds().Dx()
	if want := fmt.Sprintf(`viewBox="0 0 %d %d"`, n+2*qrQuietZone, n+2*qrQuietZone); !strings.Contains(s, want) {
		t.Errorf("no %s in %s", want, s)
	}
	drawn := make([][]int, n+2*qrQuietZone)
	for i := range drawn {
		drawn[i] = make([]int, n+2*qrQuietZone)
	}
	seg := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	d := regexp.MustCompile(`<path fill="#000" d="([^"]*)"`).FindStringSubmatch(s)
	if d == nil {
		t.Fatalf("no path in %s", s)
	}
	if rest := seg.ReplaceAllString(d[1], ""); rest != "" {
		t.Fatalf("unexpected path data %q", rest)
	}
	for _, m := range seg.FindAllStringSubmatch(d[1], -1) {
		var x, y, w, back int
		fmt.Sscan(m[1]+" "+m[2]+" "+m[3]+" "+m[4], &x, &y, &w, &back)
		if w != back {
			t.Fatalf("segment %q does not close", m[0])
		}
		for i := range w {
			drawn[y][x+i]++
		}
	}
	for y := range drawn {
		for x := range drawn[y] {
			want := 0
			if mx, my := x-qrQuietZone, y-qrQuietZone; mx >= 0 && my >= 0 && mx < n && my < n && dark(code.At(mx, my)) {
				want = 1
			}
			if drawn[y][x] != want {
				t.Fatalf("module (%d,%d) drawn %d times, want %d", x, y, drawn[y][x], want)
			}
		}
	}
}
