// Package preprocess turns image file bytes into the model's input tensor:
// decode a JPEG, PNG, WebP or GIF into 8-bit RGB whatever its colour model
// (grayscale, YCbCr, CMYK, paletted, with or without alpha), upright as its
// EXIF orientation says, then resize bilinearly to a square float32 HWC
// tensor in [0,1]. Ingest and score both call Preprocess, so training and
// serving see identical inputs. DecodeReduced decodes large photos at 1/2,
// 1/4 or 1/8 scale for detection.
package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"slices"
	"strings"
)

// Defaults for Options.
const (
	DefaultSize = 224
	// DefaultMaxPixels, 40 megapixels of header-declared size, admits the
	// 12 MP photos of phones (4032×3024, also the default of phones with
	// 48–200 MP sensors) and the 24–36 MP of most cameras, up to 8000×5000.
	// It rejects the 48–50 MP full-resolution mode of some phones
	// (8064×6048), which need a larger --max_pixels. At the limit a full
	// Decode holds about 180 MB (pure Go: 60 MB of YCbCr and 120 MB of RGB;
	// libjpeg-turbo: the RGB only); DecodeReduced at 1/2 about 90 MB in pure
	// Go and 30 MB with libjpeg-turbo (plus the coefficients of a
	// progressive JPEG, 2 bytes a sample).
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

// Info describes a source image.
type Info struct {
	Format string // FormatJPEG, FormatPNG, FormatWebP or FormatGIF
	// Width and Height are the stored dimensions that the header declares,
	// before EXIF orientation: what maxPixels limits and what a decoder
	// that ignores EXIF produces. UprightSize gives the decoded image's.
	Width, Height int
	// Orientation is the EXIF Orientation of a JPEG, 1 to 8 (1: as stored;
	// 6: stored rotated a quarter counter-clockwise, so Decode turns it
	// clockwise); 1 when absent or invalid, and for the other formats.
	Orientation int
	Grayscale   bool // all three channels equal in every pixel returned (Decode, DecodeReduced); Check leaves it false
}

// UprightSize returns the dimensions of the image as Decode returns it, upright:
// Width and Height, swapped for orientations 5 to 8.
func (i Info) UprightSize() (w, h int) {
	if swapsAxes(i.Orientation) {
		return i.Height, i.Width
	}
	return i.Width, i.Height
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

// Check reads only the header of an image: its format, dimensions and, for a
// JPEG, EXIF orientation. It rejects empty files, content that is not a
// JPEG, PNG, WebP or GIF (naming HEIC, AVIF and a few other formats in the
// detail), and images over maxPixels (DefaultMaxPixels when ≤ 0), without
// allocating for the pixels. data may be only the head of a file, as long
// as it holds the metadata before a JPEG's frame header.
func Check(data []byte, maxPixels int) (Info, error) {
	if len(data) == 0 {
		return Info{}, fail(ReasonEmptyFile, "the file is empty")
	}
	fmtName, e := sniff(data)
	if e != nil {
		return Info{}, e
	}
	cfg, err := codecs[fmtName].config(bytes.NewReader(data))
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
	info := Info{Format: fmtName, Width: cfg.Width, Height: cfg.Height, Orientation: orientTopLeft}
	if fmtName == FormatJPEG {
		info.Orientation = jpegOrientation(data)
	}
	return info, nil
}

func decodeError(format, what string, err error) *Error {
	if endsEarly(err) {
		return fail(ReasonTruncated, "%s %s ends early: %v", format, what, err)
	}
	return fail(ReasonDecodeError, "%s %s: %v", format, what, err)
}

// endsEarly reports whether a decoder's error says that the data ran out.
// image/gif wraps io.ErrUnexpectedEOF with %v, and x/image/riff (under
// webp) turns it into its "short chunk" errors, so their text is matched.
func endsEarly(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	msg := err.Error()
	return strings.HasSuffix(msg, io.ErrUnexpectedEOF.Error()) || strings.HasPrefix(msg, "riff: short chunk")
}

// RGB is an 8-bit image with interleaved R, G, B samples, row by row.
type RGB struct {
	Width, Height int
	Pix           []uint8 // len 3*Width*Height
}

// Decode checks the header, then decodes the image into RGB, upright: a
// JPEG's EXIF orientation is applied (Info keeps the stored dimensions).
// Alpha is dropped, not composited, as Pillow's convert("RGB") and
// TensorFlow's decode_png(channels=3) do. JPEG chroma is upsampled with
// libjpeg's "fancy" triangle filter and converted with its fixed-point
// coefficients, so the result stays within a level or two of libjpeg-based
// decoders such as Pillow; lossy WebP is converted from its limited-range
// YCbCr as libwebp does. A GIF decodes to its first frame on the logical
// screen, black where the frame does not reach.
func Decode(data []byte, maxPixels int) (*RGB, Info, error) {
	info, err := Check(data, maxPixels)
	if err != nil {
		return nil, info, err
	}
	m, info, err := decode(data, info, 1)
	return m, info, err
}

// decode decodes an image whose header Check has read into info, reduced by
// the factor d (1, 2, 4 or 8), upright.
func decode(data []byte, info Info, d int) (*RGB, Info, error) {
	m, err := decodeStored(data, info, d)
	if err != nil {
		return nil, info, err
	}
	m = m.orient(info.Orientation)
	info.Grayscale = m.Grayscale()
	return m, info, nil
}

// decodeStored decodes as stored (before orientation), reduced by d.
func decodeStored(data []byte, info Info, d int) (*RGB, error) {
	if info.Format == FormatJPEG {
		if m, ok := decodeJPEGNative(data, info, d); ok {
			return m, nil
		}
	}
	img, err := codecs[info.Format].decode(bytes.NewReader(data))
	if err != nil {
		if !complete(info.Format, data) {
			return nil, fail(ReasonTruncated, "%s data ends without its end marker (%d bytes): %v", info.Format, len(data), err)
		}
		return nil, decodeError(info.Format, "data", err)
	}
	if info.Format == FormatGIF {
		img = onScreen(img, info.Width, info.Height)
	}
	b := img.Bounds()
	if b.Dx() != info.Width || b.Dy() != info.Height {
		return nil, fail(ReasonDecodeError, "decoded %d×%d, header said %d×%d", b.Dx(), b.Dy(), info.Width, info.Height)
	}
	rows := rgbRows(img, info.Format)
	if d > 1 {
		return boxReduce(b.Dx(), b.Dy(), d, rows), nil
	}
	dst := &RGB{Width: b.Dx(), Height: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	fillRows(dst, rows)
	return dst, nil
}

// onScreen places a GIF's first frame, whose bounds may be any rectangle
// inside the logical screen, on a w×h screen of transparent black, as
// browsers show it. A frame that covers the screen is returned as it is.
func onScreen(img image.Image, w, h int) image.Image {
	screen := image.Rect(0, 0, w, h)
	if img.Bounds() == screen || !img.Bounds().In(screen) {
		return img
	}
	m := image.NewNRGBA(screen)
	draw.Draw(m, img.Bounds(), img, img.Bounds().Min, draw.Src)
	return m
}

// Grayscale reports whether all three channels are equal in every pixel.
func (m *RGB) Grayscale() bool {
	p := m.Pix
	for i := 0; i < len(p); i += 3 {
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
	img, info, err := Decode(data, o.MaxPixels) // Check takes ≤ 0 as the default
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
		dst[i] = uint8(min(max(v*255+0.5, 0), 255))
	}
	return dst
}

// grow returns s resized to n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T { return slices.Grow(s[:0], n)[:n] }

// Thumbnail decodes an image and returns a size×size JPEG of it, for reports.
func Thumbnail(data []byte, size int) ([]byte, error) {
	m, _, err := Decode(data, DefaultMaxPixels)
	if err != nil {
		return nil, err
	}
	px := Quantize(nil, m.ResizeFloat32(size, size, nil))
	return (&RGB{Width: size, Height: size, Pix: px}).EncodeJPEG(85)
}

// Image returns the image as an image.RGBA.
func (m *RGB) Image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, m.Width, m.Height))
	for i := 0; i < m.Width*m.Height; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2], 255
	}
	return img
}

// EncodeJPEG encodes the image as a JPEG of the given quality (1-100).
func (m *RGB) EncodeJPEG(quality int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m.Image(), &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
