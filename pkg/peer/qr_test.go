package peer

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"rsc.io/qr"
)

// A client of one segment: the size of a small site's phone config.
const smallQuick = `[Interface]
Address = 10.5.0.3/32
PrivateKey = cGZ7fmDAo8M15YAfdJ1y2kY/RNhNPt7EBlXfYegTzGM=

# location "eu-west-1" (leader aws-1)
[Peer]
PublicKey = 0cB+5fOn1uuZ0/hl87NQd8C5s3cJZUXBB9RzMvt9ljs=
Endpoint = 52.18.0.10:51820
AllowedIPs = 10.2.0.0/24, 172.31.0.10/32, 10.2.1.0/24, 172.31.0.11/32, 10.4.0.1/32
PersistentKeepalive = 25

# location "home" (leader lab-1)
[Peer]
PublicKey = rU+O6TFy8g8hEqXg8utNDNCMeyBYXa1P5fbThhneGyE=
Endpoint = lab.example.org:51820
AllowedIPs = 10.2.5.0/24, 192.168.1.10/32, 10.4.0.2/32
PersistentKeepalive = 25
`

// readBack turns the drawing into modules again (true: light), checking
// that every line is one color run of known characters.
func readBack(t *testing.T, drawing string) [][]bool {
	t.Helper()
	var rows [][]bool
	for _, line := range strings.Split(strings.TrimSuffix(drawing, "\n"), "\n") {
		if !strings.HasPrefix(line, qrColor) || !strings.HasSuffix(line, qrReset) {
			t.Fatalf("line %q: not wrapped in the color escapes", line)
		}
		line = strings.TrimSuffix(strings.TrimPrefix(line, qrColor), qrReset)
		top, bottom := []bool{}, []bool{}
		for _, r := range line {
			switch r {
			case ' ':
				top, bottom = append(top, false), append(bottom, false)
			case '▀':
				top, bottom = append(top, true), append(bottom, false)
			case '▄':
				top, bottom = append(top, false), append(bottom, true)
			case '█':
				top, bottom = append(top, true), append(bottom, true)
			default:
				t.Fatalf("unexpected character %q", r)
			}
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

// The drawing holds exactly the code's modules, two rows per line, in
// Columns() columns, with a light quiet zone.
func TestQRDrawing(t *testing.T) {
	for name, text := range map[string]string{"small": smallQuick, "one line": "[Interface]\n"} {
		t.Run(name, func(t *testing.T) {
			q, err := NewQR(text)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := q.Write(&b); err != nil {
				t.Fatal(err)
			}
			rows := readBack(t, b.String())
			want, err := qr.Encode(StripComments(text), qr.L)
			if err != nil {
				t.Fatal(err)
			}
			n := want.Size + 2
			if q.Columns() != n || len(rows) != n+1 || len(strings.Split(strings.TrimSpace(b.String()), "\n")) != (n+1)/2 {
				t.Fatalf("%d columns, %d module rows for a code of %d modules", q.Columns(), len(rows), want.Size)
			}
			for y, row := range rows {
				if len(row) != n {
					t.Fatalf("row %d: %d modules, want %d", y, len(row), n)
				}
				for x, light := range row {
					inside := x >= 1 && y >= 1 && x <= want.Size && y <= want.Size
					if wantLight := !inside || !want.Black(x-1, y-1); light != wantLight {
						t.Fatalf("module (%d,%d): light %v, want %v", x, y, light, wantLight)
					}
				}
			}
		})
	}
}

// A one- or two-segment client fits an 80-column terminal; the width
// grows with the text.
func TestQRColumns(t *testing.T) {
	q, err := NewQR(smallQuick)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	q.Write(&b)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if w := utf8.RuneCountInString(strings.TrimSuffix(strings.TrimPrefix(line, qrColor), qrReset)); w != q.Columns() || w > 80 {
			t.Fatalf("a line is %d columns wide (Columns says %d): does not fit 80", w, q.Columns())
		}
	}
	if strings.Contains(StripComments(smallQuick), "#") || q.Bytes != len(StripComments(smallQuick)) {
		t.Errorf("comments are encoded: %d bytes", q.Bytes)
	}
	big, err := NewQR(strings.Repeat(smallQuick, 3))
	if err != nil {
		t.Fatal(err)
	}
	if big.Columns() <= 80 {
		t.Errorf("three times the text in %d columns", big.Columns())
	}
	if _, err := NewQR(strings.Repeat("x", 3000)); err == nil || !strings.Contains(err.Error(), "(3000 bytes) does not fit in a QR code") {
		t.Errorf("oversized: %v", err)
	}
}

// A real decoder reads the drawing back (where zbar-tools is installed):
// the drawing is rasterised, 4 pixels per module, light modules white.
func TestQRDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg (zbar-tools) not installed")
	}
	q, err := NewQR(smallQuick)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	q.Write(&b)
	rows := readBack(t, b.String())
	// The terminal's own background, dark, around the drawing.
	const scale, border = 4, 8
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale+2*border, len(rows)*scale+2*border))
	for y, row := range rows {
		for x, light := range row {
			if !light {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray(border+x*scale+dx, border+y*scale+dy, color.Gray{Y: 255})
				}
			}
		}
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(zbar, "--quiet", "--raw", "-Sbinary", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got, want := string(bytes.TrimSuffix(out, []byte("\n"))), StripComments(smallQuick); got != want && string(out) != want {
		t.Fatalf("decoded:\n%q\nwant:\n%q", out, want)
	}
}
