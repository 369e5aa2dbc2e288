package preprocess

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Formats that Decode reads, as Info.Format names them.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatWebP = "webp"
	FormatGIF  = "gif"
)

// codec reads one format.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[string]codec{
	FormatJPEG: {jpeg.DecodeConfig, jpeg.Decode},
	FormatPNG:  {png.DecodeConfig, png.Decode},
	FormatWebP: {webp.DecodeConfig, webp.Decode},
	FormatGIF:  {gif.DecodeConfig, gif.Decode}, // the first frame only
}

// sniff names the format of data from its signature, or says why it is not
// an image this package reads.
func sniff(data []byte) (string, *Error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		return FormatJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF, nil
	case bytes.HasPrefix(data, []byte("RIFF")) && len(data) >= 12 && string(data[8:12]) == "WEBP":
		return FormatWebP, nil
	case bytes.HasPrefix(data, []byte("RIFF")) && len(data) >= 12:
		return "", fail(ReasonNotAnImage, "content is a RIFF %q file (audio or video), not a WebP image", data[8:12])
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return "", isoMedia(data)
	}
	for _, u := range unsupported {
		if bytes.HasPrefix(data, u.magic) {
			return "", fail(ReasonNotAnImage, "%s images are not supported: convert to JPEG", u.name)
		}
	}
	return "", fail(ReasonNotAnImage, "content starts with %q, not a JPEG, PNG, WebP or GIF signature", prefix(data))
}

// unsupported lists image formats recognised only to name them in the
// rejection.
var unsupported = []struct {
	magic []byte
	name  string
}{
	{[]byte("II*\x00"), "TIFF"},
	{[]byte("MM\x00*"), "TIFF"},
	{[]byte{0xff, 0x0a}, "JPEG XL"},
	{[]byte("\x00\x00\x00\x0cJXL \r\n\x87\n"), "JPEG XL"},
}

// HEIF brands (ISO/IEC 23008-12) of HEVC-coded and generic images and
// sequences; AVIF's are checked first, since AVIF files list mif1 too.
var (
	avifBrands = []string{"avif", "avis"}
	heifBrands = []string{"heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "mif2", "msf1"}
)

// isoMedia explains the rejection of an ISO base media file (its first box
// is ftyp): HEIC and AVIF photos by name, anything else (MP4, QuickTime) by
// its major brand.
func isoMedia(data []byte) *Error {
	size := uint64(binary.BigEndian.Uint32(data))
	if size < 16 {
		size = 4096 // 0: to the end; 1: 64-bit size
	}
	size = min(size, uint64(len(data)), 4096)
	var brands []string // major brand, then the compatible ones
	for i := uint64(8); i+4 <= size; i += 4 {
		if i != 12 { // bytes 12-16 are the minor version
			brands = append(brands, string(data[i:i+4]))
		}
	}
	has := func(set []string) bool {
		for _, b := range brands {
			for _, s := range set {
				if b == s {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has(avifBrands):
		return fail(ReasonNotAnImage, "AVIF images are not supported: convert to JPEG")
	case has(heifBrands):
		return fail(ReasonNotAnImage, "HEIC (HEIF) images are not supported: convert to JPEG")
	}
	return fail(ReasonNotAnImage, "content is an ISO media file of brand %q (video or audio), not an image", brands[0])
}

func prefix(b []byte) []byte { return b[:min(len(b), 8)] }

// complete reports whether a file ends as a whole image of its format does:
// a JPEG with its EOI marker (trailing padding allowed), a PNG with IEND, a
// GIF with its trailer byte, a WebP with all the bytes its RIFF header
// declares.
func complete(format string, data []byte) bool {
	tail := data[max(0, len(data)-64):]
	switch format {
	case FormatPNG:
		return bytes.Contains(tail, []byte("IEND"))
	case FormatGIF:
		tail = bytes.TrimRight(tail, "\x00")
		return len(tail) > 0 && tail[len(tail)-1] == 0x3b
	case FormatWebP:
		return len(data) >= 8 && uint64(len(data)) >= 8+uint64(binary.LittleEndian.Uint32(data[4:]))
	}
	return bytes.Contains(tail, []byte{0xff, 0xd9})
}
