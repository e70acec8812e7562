package peer

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"
)

// QR is a wg-quick file as a QR code for the WireGuard mobile apps,
// drawn for a terminal with half blocks: each character is one module
// wide and two modules tall, so a code of n modules (a quiet zone of
// one module around it) takes n+2 columns and (n+3)/2 lines. Colors are
// set explicitly (light modules white on black), so the code reads the
// same on dark and light terminal themes.
type QR struct {
	code *qr.Code
	// Bytes is the size of the encoded text.
	Bytes int
}

// qrQuiet is the quiet zone drawn around the code, in modules.
const qrQuiet = 1

// Escape sequences around each line: white foreground on black.
const (
	qrColor = "\x1b[97;40m"
	qrReset = "\x1b[0m"
)

// NewQR encodes a wg-quick file. Comments and blank lines are dropped
// first: they cost capacity and the apps ignore them. The lowest error
// correction level gives the smallest code (a screen is not a worn
// sticker).
func NewQR(quick string) (*QR, error) {
	text := StripComments(quick)
	c, err := qr.Encode(text, qr.L)
	if err != nil {
		return nil, fmt.Errorf("the configuration (%d bytes) does not fit in a QR code: %w", len(text), err)
	}
	return &QR{code: c, Bytes: len(text)}, nil
}

// Modules is the code's width in modules, without the quiet zone.
func (q *QR) Modules() int { return q.code.Size }

// Columns is the width of the drawing in terminal columns.
func (q *QR) Columns() int { return q.code.Size + 2*qrQuiet }

// light reports whether the module at (x, y) of the drawing, quiet zone
// included, is light.
func (q *QR) light(x, y int) bool {
	x, y = x-qrQuiet, y-qrQuiet
	if x < 0 || y < 0 || x >= q.code.Size || y >= q.code.Size {
		return true
	}
	return !q.code.Black(x, y)
}

// halfBlocks maps (top light, bottom light) to a character drawn in the
// light color.
var halfBlocks = [2][2]string{{" ", "▄"}, {"▀", "█"}}

// Write draws the code.
func (q *QR) Write(w io.Writer) error {
	b := bufio.NewWriter(w)
	n := q.Columns()
	for y := 0; y < n; y += 2 {
		b.WriteString(qrColor)
		for x := range n {
			top, bottom := q.light(x, y), y+1 >= n || q.light(x, y+1)
			b.WriteString(halfBlocks[b2i(top)][b2i(bottom)])
		}
		b.WriteString(qrReset + "\n")
	}
	return b.Flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// StripComments drops the comment and blank lines of an INI file.
func StripComments(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}
