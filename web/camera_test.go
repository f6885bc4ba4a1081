package web_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// The fake camera: Chromium plays a Y4M video (4:2:0) in a loop as the
// camera's picture. The tests write one with QR codes drawn in it.

const camW, camH = 640, 480

// frame is one picture's Y plane (luma); chroma is neutral grey.
type frame []byte

func blankFrame() frame {
	f := make(frame, camW*camH)
	for i := range f {
		f[i] = 200 // a light grey card
	}
	return f
}

// qrFrame draws text as a QR code, black on white, in the middle of a frame.
func qrFrame(t *testing.T, text string) frame {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap() // with its quiet zone
	n := len(bm)
	px := (camH * 9 / 10) / n
	if px < 2 {
		t.Fatalf("QR code of %d modules does not fit the frame", n)
	}
	f := blankFrame()
	x0, y0 := (camW-n*px)/2, (camH-n*px)/2
	for y := 0; y < n*px; y++ {
		for x := 0; x < n*px; x++ {
			v := byte(235)
			if bm[y/px][x/px] {
				v = 16
			}
			f[(y0+y)*camW+x0+x] = v
		}
	}
	return f
}

// writeY4M writes frames (at fps) as a Y4M video and returns its path.
func writeY4M(t *testing.T, fps int, frames ...frame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "camera.y4m")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", camW, camH, fps)
	chroma := make([]byte, camW*camH/2) // U and V planes, a quarter each
	for i := range chroma {
		chroma[i] = 128
	}
	for _, f := range frames {
		w.WriteString("FRAME\n")
		w.Write(f)
		w.Write(chroma)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// repeat returns n copies of f.
func repeat(f frame, n int) []frame {
	out := make([]frame, n)
	for i := range out {
		out[i] = f
	}
	return out
}
