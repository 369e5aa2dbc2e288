package preprocess

import (
	"encoding/binary"
	"strings"
	"testing"
)

// TestExifEdges reads Orientation from payloads at the edges of the TIFF
// structure: an IFD0 offset pointing at the last byte (no room for its
// entry count: 1, no panic); entries that end the payload, without the
// 4-byte pointer to IFD1 (the orientation is still read); and a JPEG whose
// APP1 Exif segment follows an empty APP0 segment (length 2), which must
// not end the search.
func TestExifEdges(t *testing.T) {
	le := binary.LittleEndian
	full := exifPayloadWith(le, 6)
	tiff := len(full) - len(exifHeader)

	lastByte := append([]byte(nil), full...)
	le.PutUint32(lastByte[len(exifHeader)+4:], uint32(tiff-1))
	noNext := full[:len(full)-4]
	// IFD0 says it holds 1 entry (the Make tag); the Orientation entry
	// after it is not part of the IFD.
	pastCount := append([]byte(nil), full...)
	le.PutUint16(pastCount[len(exifHeader)+8:], 1)
	for _, tc := range []struct {
		name string
		p    []byte
		want int
	}{
		{"IFD0 at the last byte", lastByte, 1},
		{"IFD0 at the end", append(append([]byte(nil), full[:len(exifHeader)+4]...), le.AppendUint32(nil, uint32(tiff))...), 1},
		{"no pointer to IFD1", noNext, 6},
		{"one byte short of the last entry", noNext[:len(noNext)-1], 1},
		{"an entry past the count", pastCount, 1},
	} {
		if o, ok := exifOrientation(tc.p); !ok || o != tc.want {
			t.Errorf("%s: orientation %d (exif %v), want %d", tc.name, o, ok, tc.want)
		}
	}

	jpg := encodeJPEG(t, testImage(8, 8, 1))
	withExif := withSegment(jpg, 0xe1, full)
	if o := jpegOrientation(withSegment(withExif, 0xe0, nil)); o != 6 {
		t.Errorf("Exif after an empty APP0: orientation %d, want 6", o)
	}
}

// TestCompleteEdges: where a truncated file is told from a damaged one. A
// GIF whose tail is all NUL padding has no trailer; a WebP is complete when
// it holds the 8 header bytes and all the bytes its RIFF size declares.
func TestCompleteEdges(t *testing.T) {
	riff := func(size uint32, n int) []byte {
		b := binary.LittleEndian.AppendUint32([]byte("RIFF"), size)
		return append(b, make([]byte, n)...)
	}
	for _, tc := range []struct {
		name, format string
		data         []byte
		want         bool
	}{
		{"gif of NULs", FormatGIF, []byte{0, 0, 0}, false},
		{"gif with its trailer", FormatGIF, []byte{'G', 0x3b, 0, 0}, true},
		{"webp declaring 0 bytes, 8 bytes long", FormatWebP, riff(0, 0), true},
		{"webp declaring 4 bytes, holding 4", FormatWebP, riff(4, 4), true},
		{"webp declaring 4 bytes, holding 3", FormatWebP, riff(4, 3), false},
		{"webp declaring 4 bytes, holding 5", FormatWebP, riff(4, 5), true},
		{"webp header cut", FormatWebP, []byte("RIFF\x04\x00\x00"), false},
	} {
		if got := complete(tc.format, tc.data); got != tc.want {
			t.Errorf("%s: complete = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestISOMediaBrands: the brands of an ftyp box are read up to its declared
// size, its last one included, and no further.
func TestISOMediaBrands(t *testing.T) {
	box := func(size uint32, brands ...string) []byte {
		b := binary.BigEndian.AppendUint32(nil, size)
		b = append(b, "ftyp"...)
		b = append(b, brands[0]...)
		b = append(b, 0, 0, 0, 0) // minor version
		for _, s := range brands[1:] {
			b = append(b, s...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"heic as the last compatible brand", box(20, "mp42", "heic"), "HEIC"},
		{"heic past the box", append(box(16, "mp42"), "heicheic"...), `brand "mp42"`},
		{"avif major brand", box(16, "avif"), "AVIF"},
	} {
		if e := isoMedia(tc.data); e == nil || !strings.Contains(e.Detail, tc.want) {
			t.Errorf("%s: %v, want a detail naming %s", tc.name, e, tc.want)
		}
	}
}
