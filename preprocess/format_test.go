package preprocess

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"strings"
	"testing"
)

// losslessWebP is a 5×3 lossless WebP made with libwebp's cwebp -lossless
// -exact from a PNG whose pixel (x, y) is losslessPixel(x, y).
const losslessWebP = "RIFF\x4a\x00\x00\x00WEBPVP8L\x3d\x00\x00\x00\x2f\x04\x80\x00\x00\x77\xa0\x90\x6d\x04" +
	"\xe8\x1e\xa9\x03\x9a\x3f\xc6\x31\x88\x05\x53\xbc\x2f\x9f\x14\xa4\x6d\xc0\xe2\x1a\xed\xce\xfc\xf7\xa0\x11" +
	"\x87\xdb\x7a\xe1\x60\x10\x00\x12\x81\x8a\x25\x85\x14\x82\x4b\x61\x85\x51\x23\xfa\x1f\x1e\x72\xec\x0b\x00"

func losslessPixel(x, y int) [3]uint8 {
	return [3]uint8{uint8(50*x + 7), uint8(100*y + 3), uint8((x*31 + y*97) % 256)}
}

// Lossy 16×16 WebPs of one colour each, made with cwebp -q 90.
var lossyWebP = []struct {
	name string
	rgb  [3]uint8
	data string
}{
	{"black", [3]uint8{0, 0, 0}, "RIFF\x26\x00\x00\x00WEBPVP8 \x1a\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x10\x00\x10\x00" +
		"\x00\xc0\x12\x25\xa4\x00\x03\x70\x00\xfe\xfe\xee\xaa\x00\x00\x00"},
	{"white", [3]uint8{255, 255, 255}, "RIFF\x26\x00\x00\x00WEBPVP8 \x1a\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x10\x00" +
		"\x10\x00\x00\xc0\x12\x25\xa4\x00\x03\x70\x00\xfe\xfe\xdd\x78\x00\x00\x00"},
	{"orange", [3]uint8{200, 60, 30}, "RIFF\x3e\x00\x00\x00WEBPVP8 \x32\x00\x00\x00\xd0\x01\x00\x9d\x01\x2a\x10\x00" +
		"\x10\x00\x00\xc0\x12\x25\xa0\x02\x74\xba\x01\xf8\x00\x03\xb0\x00\xfe\xf2\xa9\x7f\xfd\xbb\x3f\xae\xcf\xeb" +
		"\xb3\xfe\xed\xbf\xfe\xb6\x0f\xeb\x60\xfe\xb6\x0f\xfe\xb4\x00\x00"},
}

func TestDecodeLosslessWebP(t *testing.T) {
	m, info, err := Decode([]byte(losslessWebP), 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "webp" || info.Width != 5 || info.Height != 3 || info.Orientation != 1 || m.Width != 5 || m.Height != 3 {
		t.Fatalf("info %+v, image %d×%d", info, m.Width, m.Height)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			i := 3 * (y*5 + x)
			if got, want := [3]uint8(m.Pix[i:i+3]), losslessPixel(x, y); got != want {
				t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// TestDecodeLossyWebP: lossy WebP is limited-range YCbCr; decoded as JPEG's
// full range, black would be 16 and white 235.
func TestDecodeLossyWebP(t *testing.T) {
	for _, tc := range lossyWebP {
		t.Run(tc.name, func(t *testing.T) {
			m, info, err := Decode([]byte(tc.data), 0)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != "webp" || m.Width != 16 || m.Height != 16 {
				t.Fatalf("info %+v, image %d×%d", info, m.Width, m.Height)
			}
			for i, v := range m.Pix {
				if d := int(v) - int(tc.rgb[i%3]); d < -2 || d > 2 {
					t.Fatalf("sample %d = %d, want %d±2", i, v, tc.rgb[i%3])
				}
			}
		})
	}
}

func encodeGIF(t testing.TB, g *gif.GIF) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeGIF(t *testing.T) {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{10, 20, 250, 255}, color.RGBA{}}
	frame := func(r image.Rectangle, seed int) *image.Paletted {
		m := image.NewPaletted(r, pal)
		for i := range m.Pix {
			m.Pix[i] = uint8((i*7 + seed) % len(pal))
		}
		return m
	}
	// colourAt is the expected colour of screen pixel (x, y) of a first
	// frame f: its palette colour inside f (transparent reads as black),
	// black outside.
	colourAt := func(f *image.Paletted, x, y int) [3]uint8 {
		if !(image.Point{x, y}).In(f.Rect) {
			return [3]uint8{}
		}
		c := pal[f.Pix[(y-f.Rect.Min.Y)*f.Stride+x-f.Rect.Min.X]].(color.RGBA)
		return [3]uint8{c.R, c.G, c.B}
	}
	full := frame(image.Rect(0, 0, 9, 6), 0)
	inset := frame(image.Rect(2, 1, 7, 4), 1)
	tests := []struct {
		name  string
		g     *gif.GIF
		first *image.Paletted
	}{
		{"one frame", &gif.GIF{Image: []*image.Paletted{full}, Delay: []int{0}}, full},
		{"animated: first frame", &gif.GIF{Image: []*image.Paletted{full, frame(image.Rect(0, 0, 9, 6), 2)}, Delay: []int{5, 5}}, full},
		{"frame inside the screen", &gif.GIF{Image: []*image.Paletted{inset}, Delay: []int{0},
			Config: image.Config{ColorModel: pal, Width: 9, Height: 6}}, inset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, info, err := Decode(encodeGIF(t, tc.g), 0)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != "gif" || info.Width != 9 || info.Height != 6 || m.Width != 9 || m.Height != 6 {
				t.Fatalf("info %+v, image %d×%d", info, m.Width, m.Height)
			}
			for y := 0; y < 6; y++ {
				for x := 0; x < 9; x++ {
					i := 3 * (y*9 + x)
					if got, want := [3]uint8(m.Pix[i:i+3]), colourAt(tc.first, x, y); got != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

// isoFile is the start of an ISO base media file: an ftyp box with the major
// brand, minor version 0 and the compatible brands.
func isoFile(major string, compatible ...string) []byte {
	b := []byte{0, 0, 0, byte(16 + 4*len(compatible))}
	b = append(b, "ftyp"+major+"\x00\x00\x00\x00"...)
	for _, c := range compatible {
		b = append(b, c...)
	}
	return append(b, "\x00\x00\x00\x08meta"...)
}

func TestRejectsFormats(t *testing.T) {
	gifData := encodeGIF(t, &gif.GIF{Image: []*image.Paletted{image.NewPaletted(image.Rect(0, 0, 40, 40), color.Palette{color.Black, color.White})}, Delay: []int{0}})
	tests := []struct {
		name   string
		data   []byte
		reason string
		detail string // a substring of the detail
	}{
		{"HEIC from a phone", isoFile("heic", "mif1", "heic"), ReasonNotAnImage, "HEIC (HEIF) images are not supported: convert to JPEG"},
		{"HEIF of brand mif1", isoFile("mif1", "heix"), ReasonNotAnImage, "HEIC (HEIF)"},
		{"HEIF sequence", isoFile("msf1", "hevc"), ReasonNotAnImage, "HEIC (HEIF)"},
		{"AVIF", isoFile("avif", "mif1", "miaf", "MA1B"), ReasonNotAnImage, "AVIF images are not supported: convert to JPEG"},
		{"AVIF listed after mif1", isoFile("mif1", "avif", "miaf"), ReasonNotAnImage, "AVIF"},
		{"MP4 video", isoFile("isom", "iso2", "mp41"), ReasonNotAnImage, `ISO media file of brand "isom"`},
		{"ftyp with a bad size", append([]byte{0, 0, 0, 3}, isoFile("heic")[4:]...), ReasonNotAnImage, "HEIC"},
		{"TIFF", []byte("II*\x00\x08\x00\x00\x00"), ReasonNotAnImage, "TIFF images are not supported"},
		{"WAV", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), ReasonNotAnImage, `RIFF "WAVE" file`},
		{"unknown", []byte("%PDF-1.7 ..."), ReasonNotAnImage, `content starts with "%PDF-1.7", not a JPEG, PNG, WebP or GIF signature`},
		{"truncated WebP", []byte(losslessWebP[:40]), ReasonTruncated, "webp"},
		{"WebP header cut short", []byte(losslessWebP[:22]), ReasonTruncated, "webp header"},
		{"truncated GIF", gifData[:len(gifData)-8], ReasonTruncated, "gif"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(tc.data, 0)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Reason != tc.reason || !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("got %s (%s), want %s with %q", e.Reason, e.Detail, tc.reason, tc.detail)
			}
		})
	}
}

func TestCheckFormats(t *testing.T) {
	gifData := encodeGIF(t, &gif.GIF{Image: []*image.Paletted{image.NewPaletted(image.Rect(0, 0, 7, 4), color.Palette{color.Black})}, Delay: []int{0}})
	for _, tc := range []struct {
		data   []byte
		format string
		w, h   int
	}{
		{[]byte(losslessWebP), "webp", 5, 3},
		{[]byte(lossyWebP[0].data), "webp", 16, 16},
		{gifData, "gif", 7, 4},
		{encodePNG(t, testImage(6, 2, 1)), "png", 6, 2},
		{encodeJPEG(t, testImage(3, 9, 1)), "jpeg", 3, 9},
	} {
		info, err := Check(tc.data, 0)
		if err != nil || info != (Info{Format: tc.format, Width: tc.w, Height: tc.h, Orientation: 1}) {
			t.Errorf("%s: Check = %+v, %v", tc.format, info, err)
		}
	}
}
