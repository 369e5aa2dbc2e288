package preprocess

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"testing"
)

// FuzzDecode: whatever the bytes, Decode and DecodeReduced return either an
// *Error or an image of the size Info and the scale promise.
func FuzzDecode(f *testing.F) {
	small := testImage(19, 11, 1)
	jpg := encodeJPEG(f, small)
	f.Add(jpg, 4)
	f.Add(withSegment(jpg, 0xe1, exifPayloadWith(binary.LittleEndian, 6)), 4)
	f.Add(encodePNG(f, small), 8)
	f.Add(encodeGIF(f, &gif.GIF{Image: []*image.Paletted{image.NewPaletted(image.Rect(1, 1, 5, 4), color.Palette{color.White})},
		Delay: []int{0}, Config: image.Config{ColorModel: color.Palette{color.White}, Width: 6, Height: 5}}), 2)
	f.Add([]byte(losslessWebP), 1)
	f.Add([]byte(lossyWebP[2].data), 3)
	f.Add(isoFile("heic", "mif1"), 1)
	f.Fuzz(func(t *testing.T, data []byte, minLong int) {
		const maxPixels = 1 << 16
		m, info, err := Decode(data, maxPixels)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" || e.Detail == "" {
				t.Fatalf("error %v, want an *Error with reason and detail", err)
			}
			return
		}
		w, h := info.UprightSize()
		if m.Width != w || m.Height != h || len(m.Pix) != 3*w*h || info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("Decode: %d×%d (%d samples), info %+v", m.Width, m.Height, len(m.Pix), info)
		}
		r, rinfo, scale, err := DecodeReduced(data, maxPixels, minLong)
		if err != nil {
			t.Fatalf("DecodeReduced fails where Decode does not: %v", err)
		}
		d := int(1 / scale)
		// Grayscale describes the pixels each returns: box means can be
		// gray where the full image is not.
		same := rinfo
		same.Grayscale = info.Grayscale
		if same != info || rinfo.Grayscale != r.Grayscale() || info.Grayscale != m.Grayscale() ||
			r.Width != (w+d-1)/d || r.Height != (h+d-1)/d || len(r.Pix) != 3*r.Width*r.Height {
			t.Fatalf("DecodeReduced: scale %v, %d×%d, info %+v; Decode %d×%d, info %+v", scale, r.Width, r.Height, rinfo, w, h, info)
		}
	})
}
