// Package preprocess turns image file bytes into the model's input tensor:
// decode a JPEG or PNG into 8-bit RGB whatever its colour model (grayscale,
// YCbCr, CMYK, with or without alpha), then resize bilinearly to a square
// float32 HWC tensor in [0,1]. Ingest and score both call Preprocess, so
// training and serving see identical inputs.
package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

// Defaults for Options.
const (
	DefaultSize      = 224
	DefaultMaxPixels = 40_000_000
)

// Options control Preprocess.
type Options struct {
	Size      int // output height and width; DefaultSize when 0
	MaxPixels int // larger images are rejected before decoding; DefaultMaxPixels when 0
}

func (o Options) size() int {
	if o.Size <= 0 {
		return DefaultSize
	}
	return o.Size
}

func (o Options) maxPixels() int {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// Info describes a source image.
type Info struct {
	Format    string // "jpeg" or "png"
	Width     int
	Height    int
	Grayscale bool // all three channels equal in every pixel; set by Decode only
}

// Error says why an input can't be preprocessed. Reason is one of the
// schemas.Reason* codes for content.
type Error struct {
	Reason string
	Detail string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Detail }

// Reason codes, equal to the schemas.Reason* constants of the same meaning.
const (
	ReasonEmptyFile   = "empty_file"
	ReasonNotAnImage  = "not_an_image"
	ReasonTooLarge    = "too_large"
	ReasonTruncated   = "truncated"
	ReasonDecodeError = "decode_error"
)

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Check reads only the header of an image: its format and dimensions. It
// rejects empty files, content that is not a JPEG or PNG, and images over
// maxPixels, without allocating for the pixels.
func Check(data []byte, maxPixels int) (Info, error) {
	if len(data) == 0 {
		return Info{}, fail(ReasonEmptyFile, "the file is empty")
	}
	var (
		cfg     image.Config
		err     error
		fmtName string
	)
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		fmtName = "jpeg"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		fmtName = "png"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	default:
		return Info{}, fail(ReasonNotAnImage, "content starts with %q, not a JPEG or PNG signature", prefix(data))
	}
	if err != nil {
		return Info{}, decodeError(fmtName, "header", err)
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, fail(ReasonDecodeError, "%s header declares %d×%d pixels", fmtName, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return Info{}, fail(ReasonTooLarge, "%s header declares %d×%d = %.1f megapixels, over the limit of %.1f",
			fmtName, cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(maxPixels)/1e6)
	}
	return Info{Format: fmtName, Width: cfg.Width, Height: cfg.Height}, nil
}

func prefix(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

func decodeError(format, what string, err error) *Error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fail(ReasonTruncated, "%s %s ends early: %v", format, what, err)
	}
	return fail(ReasonDecodeError, "%s %s: %v", format, what, err)
}

// complete reports whether a file ends as a whole image of its format does:
// a JPEG with its EOI marker (trailing padding allowed), a PNG with IEND.
func complete(format string, data []byte) bool {
	tail := data[max(0, len(data)-64):]
	if format == "png" {
		return bytes.Contains(tail, []byte("IEND"))
	}
	return bytes.Contains(tail, []byte{0xff, 0xd9})
}

// RGB is an 8-bit image with interleaved R, G, B samples, row by row.
type RGB struct {
	Width, Height int
	Pix           []uint8 // len 3*Width*Height
}

// Decode checks the header, then decodes the image into RGB. Alpha is
// dropped, not composited, as Pillow's convert("RGB") and TensorFlow's
// decode_png(channels=3) do. JPEG chroma is upsampled with libjpeg's "fancy"
// triangle filter and converted with its fixed-point coefficients, so the
// result stays within a level or two of libjpeg-based decoders such as Pillow.
func Decode(data []byte, maxPixels int) (*RGB, Info, error) {
	info, err := Check(data, maxPixels)
	if err != nil {
		return nil, info, err
	}
	if info.Format == "jpeg" {
		if m, ok := decodeJPEGNative(data, info); ok {
			info.Grayscale = m.grayscale()
			return m, info, nil
		}
	}
	var img image.Image
	if info.Format == "jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		if !complete(info.Format, data) {
			return nil, info, fail(ReasonTruncated, "%s data ends without its end marker (%d bytes): %v", info.Format, len(data), err)
		}
		return nil, info, decodeError(info.Format, "data", err)
	}
	b := img.Bounds()
	if b.Dx() != info.Width || b.Dy() != info.Height {
		return nil, info, fail(ReasonDecodeError, "decoded %d×%d, header said %d×%d", b.Dx(), b.Dy(), info.Width, info.Height)
	}
	dst := &RGB{Width: b.Dx(), Height: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(dst, m)
	case *image.Gray:
		for y := 0; y < dst.Height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+dst.Width]
			out := dst.Pix[3*y*dst.Width:]
			for x, v := range row {
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
	case *image.CMYK:
		for y := 0; y < dst.Height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*dst.Width]
			out := dst.Pix[3*y*dst.Width:]
			for x := 0; x < dst.Width; x++ {
				k := 255 - int(row[4*x+3])
				out[3*x] = div255((255 - int(row[4*x])) * k)
				out[3*x+1] = div255((255 - int(row[4*x+1])) * k)
				out[3*x+2] = div255((255 - int(row[4*x+2])) * k)
			}
		}
	case *image.NRGBA:
		copyRGB(dst, m.Pix, m.Stride, 4)
	case *image.RGBA:
		if !opaque(m) {
			genericToRGB(dst, m)
		} else {
			copyRGB(dst, m.Pix, m.Stride, 4)
		}
	default:
		genericToRGB(dst, img)
	}
	info.Grayscale = dst.grayscale()
	return dst, info, nil
}

func div255(v int) uint8 { return uint8((v + 127) / 255) }

func copyRGB(dst *RGB, pix []uint8, stride, step int) {
	for y := 0; y < dst.Height; y++ {
		row := pix[y*stride:]
		out := dst.Pix[3*y*dst.Width:]
		for x := 0; x < dst.Width; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = row[step*x], row[step*x+1], row[step*x+2]
		}
	}
}

func opaque(m *image.RGBA) bool {
	for i := 3; i < len(m.Pix); i += 4 {
		if m.Pix[i] != 0xff {
			return false
		}
	}
	return true
}

// genericToRGB handles the rarer colour models (paletted, 16-bit, premultiplied
// with transparency) through their non-premultiplied colour.
func genericToRGB(dst *RGB, img image.Image) {
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2] = c.R, c.G, c.B
			i += 3
		}
	}
}

func (m *RGB) grayscale() bool {
	p := m.Pix
	for i := 0; i+2 < len(p); i += 3 {
		if p[i] != p[i+1] || p[i] != p[i+2] {
			return false
		}
	}
	return true
}

// Preprocess decodes an image file and resizes it to o.Size×o.Size, appending
// the HWC RGB float32 values in [0,1] (pixel/255) to dst[:0]. It is the one
// preprocessing function of the project.
func Preprocess(data []byte, o Options, dst []float32) ([]float32, Info, error) {
	img, info, err := Decode(data, o.maxPixels())
	if err != nil {
		return dst[:0], info, err
	}
	return img.ResizeFloat32(o.size(), o.size(), dst), info, nil
}

// Quantize appends round(255·v) of values in [0,1] to dst[:0]: the uint8
// encoding of a preprocessed tensor.
func Quantize(dst []uint8, src []float32) []uint8 {
	dst = grow(dst[:0], len(src))
	for i, v := range src {
		q := v*255 + 0.5
		switch {
		case q <= 0:
			dst[i] = 0
		case q >= 255:
			dst[i] = 255
		default:
			dst[i] = uint8(q)
		}
	}
	return dst
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// Thumbnail decodes an image and returns a size×size JPEG of it, for reports.
func Thumbnail(data []byte, size int) ([]byte, error) {
	m, _, err := Decode(data, DefaultMaxPixels)
	if err != nil {
		return nil, err
	}
	px := Quantize(nil, m.ResizeFloat32(size, size, nil))
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := 0; i < size*size; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = px[3*i], px[3*i+1], px[3*i+2], 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
