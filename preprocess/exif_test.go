package preprocess

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

// byteOrder is what the TIFF writers below need of a binary byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffEntry is one 12-byte IFD entry; value holds the first four value
// bytes, already in the file's byte order.
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte
}

// exifPayload builds an APP1 Exif payload ("Exif\0\0", TIFF header, IFD0)
// holding the entries, in the given byte order.
func exifPayload(bo byteOrder, entries ...tiffEntry) []byte {
	p := []byte("Exif\x00\x00")
	if bo == binary.LittleEndian {
		p = append(p, "II*\x00"...)
	} else {
		p = append(p, "MM\x00*"...)
	}
	p = bo.AppendUint32(p, 8)
	p = bo.AppendUint16(p, uint16(len(entries)))
	for _, e := range entries {
		p = bo.AppendUint16(p, e.tag)
		p = bo.AppendUint16(p, e.typ)
		p = bo.AppendUint32(p, e.count)
		p = append(p, e.value[:]...)
	}
	return bo.AppendUint32(p, 0) // no IFD1
}

// orientationEntry is the Orientation tag as a SHORT.
func orientationEntry(bo byteOrder, o int) tiffEntry {
	e := tiffEntry{tag: 0x0112, typ: 3, count: 1}
	bo.PutUint16(e.value[:], uint16(o))
	return e
}

// exifPayloadWith is an Exif payload whose IFD0 holds a Make tag (the
// two-byte string "x", inline) and then the Orientation.
func exifPayloadWith(bo byteOrder, o int) []byte {
	maker := tiffEntry{tag: 0x010f, typ: 2, count: 2, value: [4]byte{'x'}}
	return exifPayload(bo, maker, orientationEntry(bo, o))
}

// withSegment inserts a marker segment right after a JPEG's SOI.
func withSegment(data []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, data[2:]...)
}

// uprightIndex says where stored pixel (sx, sy) of a w×h image lands when
// viewed upright under orientation o, from the EXIF definition of each
// value: the side of the upright image along which the stored first row
// lies, and the one along which the stored first column lies.
func uprightIndex(o, w, h, sx, sy int) (vx, vy int) {
	sides := [9][2]string{1: {"top", "left"}, 2: {"top", "right"}, 3: {"bottom", "right"}, 4: {"bottom", "left"},
		5: {"left", "top"}, 6: {"right", "top"}, 7: {"right", "bottom"}, 8: {"left", "bottom"}}
	vw, vh := w, h
	if o >= 5 {
		vw, vh = h, w
	}
	row0, col0 := sides[o][0], sides[o][1]
	// Stored row sy lies sy pixels in from the row0 side.
	switch row0 {
	case "top":
		vy = sy
	case "bottom":
		vy = vh - 1 - sy
	case "left":
		vx = sy
	case "right":
		vx = vw - 1 - sy
	}
	// Stored column sx lies sx pixels in from the col0 side.
	switch col0 {
	case "left":
		vx = sx
	case "right":
		vx = vw - 1 - sx
	case "top":
		vy = sx
	case "bottom":
		vy = vh - 1 - sx
	}
	return vx, vy
}

func TestDecodeOrientation(t *testing.T) {
	const w, h = 131, 70 // asymmetric, and over the 64-pixel tiles of orient
	src := testImage(w, h, 4)
	plain := encodeJPEG(t, src)
	stored, _, err := Decode(plain, 0) // the same decoder's pixels, as stored
	if err != nil {
		t.Fatal(err)
	}
	for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := 1; o <= 8; o++ {
			data := withSegment(plain, 0xe1, exifPayloadWith(bo, o))
			m, info, err := Decode(data, 0)
			if err != nil {
				t.Fatalf("%v orientation %d: %v", bo, o, err)
			}
			vw, vh := info.UprightSize()
			if info.Orientation != o || info.Width != w || info.Height != h || m.Width != vw || m.Height != vh {
				t.Fatalf("%v orientation %d: info %+v, image %d×%d", bo, o, info, m.Width, m.Height)
			}
			for sy := 0; sy < h; sy++ {
				for sx := 0; sx < w; sx++ {
					vx, vy := uprightIndex(o, w, h, sx, sy)
					s, v := 3*(sy*w+sx), 3*(vy*vw+vx)
					if !bytes.Equal(m.Pix[v:v+3], stored.Pix[s:s+3]) {
						t.Fatalf("%v orientation %d: upright (%d,%d) = %v, want stored (%d,%d) = %v", bo, o, vx, vy, m.Pix[v:v+3], sx, sy, stored.Pix[s:s+3])
					}
				}
			}
		}
	}
}

// TestUprightIndexCorners pins the test's own reading of the EXIF
// definitions on a 2×1 image: where its left pixel ends up.
func TestUprightIndexCorners(t *testing.T) {
	want := [9][2]int{1: {0, 0}, 2: {1, 0}, 3: {1, 0}, 4: {0, 0}, 5: {0, 0}, 6: {0, 0}, 7: {0, 1}, 8: {0, 1}}
	for o := 1; o <= 8; o++ {
		if x, y := uprightIndex(o, 2, 1, 0, 0); [2]int{x, y} != want[o] {
			t.Errorf("orientation %d: left pixel at (%d,%d), want %v", o, x, y, want[o])
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	jpg := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	exif := func(o int) []byte { return exifPayloadWith(be, o) }
	long := tiffEntry{tag: 0x0112, typ: 4, count: 1}
	le.PutUint32(long.value[:], 6)
	tooMany := exifPayload(le, orientationEntry(le, 3))
	le.PutUint16(tooMany[14:], 0xffff) // IFD0 claims 65535 entries
	badOffset := exifPayloadWith(le, 6)
	le.PutUint32(badOffset[10:], 0xfffffff0)
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), "<x:xmpmeta/>"...)
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no Exif", jpg, 1},
		{"Exif without orientation", withSegment(jpg, 0xe1, exifPayload(le, tiffEntry{tag: 0x010f, typ: 2, count: 2})), 1},
		{"big-endian 6", withSegment(jpg, 0xe1, exif(6)), 6},
		{"little-endian 8", withSegment(jpg, 0xe1, exifPayloadWith(le, 8)), 8},
		{"after APP0", withSegment(withSegment(jpg, 0xe1, exif(3)), 0xe0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")), 3},
		{"after XMP", withSegment(withSegment(jpg, 0xe1, exif(5)), 0xe1, xmp), 5},
		{"first Exif wins", withSegment(withSegment(jpg, 0xe1, exif(7)), 0xe1, exif(2)), 2},
		{"fill bytes", append([]byte{0xff, 0xd8, 0xff, 0xff}, withSegment(jpg, 0xe1, exif(4))[2:]...), 4},
		{"as LONG", withSegment(jpg, 0xe1, exifPayload(le, long)), 6},
		{"zero", withSegment(jpg, 0xe1, exif(0)), 1},
		{"nine", withSegment(jpg, 0xe1, exif(9)), 1},
		{"count 2", withSegment(jpg, 0xe1, exifPayload(le, tiffEntry{tag: 0x0112, typ: 3, count: 2, value: [4]byte{6}})), 1},
		{"type ASCII", withSegment(jpg, 0xe1, exifPayload(le, tiffEntry{tag: 0x0112, typ: 2, count: 1, value: [4]byte{6}})), 1},
		{"entry count past the data", withSegment(jpg, 0xe1, tooMany), 3},
		{"IFD offset past the data", withSegment(jpg, 0xe1, badOffset), 1},
		{"bad byte order", withSegment(jpg, 0xe1, append([]byte("Exif\x00\x00IM*\x00"), exif(6)[10:]...)), 1},
		{"TIFF header cut", withSegment(jpg, 0xe1, []byte("Exif\x00\x00II*\x00\x08")), 1},
		{"file ends after the entry", withSegment(jpg, 0xe1, exif(6))[:46], 6},
		{"file ends inside IFD", withSegment(jpg, 0xe1, exif(6))[:40], 1},
		{"segment length under 2", append([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01}, exif(6)...), 1},
		{"lost sync", append([]byte{0xff, 0xd8, 0x00}, withSegment(jpg, 0xe1, exif(6))[2:]...), 1},
		{"Exif after the scan", append(jpg[:len(jpg)-2:len(jpg)-2], withSegment([]byte{0xff, 0xd8}, 0xe1, exif(6))[2:]...), 1},
		{"SOI only", []byte{0xff, 0xd8}, 1},
	}
	for _, tc := range tests {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("%s: orientation %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestOrientationReachesInfo: Check reports the orientation of a JPEG, and
// Decode keeps the stored size in Info.
func TestOrientationReachesInfo(t *testing.T) {
	data := withSegment(encodeJPEG(t, image.NewGray(image.Rect(0, 0, 10, 4))), 0xe1, exifPayloadWith(binary.LittleEndian, 6))
	info, err := Check(data, 0)
	if err != nil || info.Orientation != 6 || info.Width != 10 || info.Height != 4 {
		t.Fatalf("Check = %+v, %v", info, err)
	}
	if w, h := info.UprightSize(); w != 4 || h != 10 {
		t.Errorf("UprightSize = %d×%d, want 4×10", w, h)
	}
	m, info, err := Decode(data, 0)
	if err != nil || m.Width != 4 || m.Height != 10 || info.Width != 10 || !info.Grayscale {
		t.Errorf("Decode: %d×%d, info %+v, %v", m.Width, m.Height, info, err)
	}
	// Other formats have no orientation.
	info, err = Check(encodePNG(t, image.NewGray(image.Rect(0, 0, 3, 3))), 0)
	if err != nil || info.Orientation != 1 {
		t.Errorf("PNG: %+v, %v", info, err)
	}
}

// FuzzOrientation: the EXIF reader never panics and always answers 1 to 8,
// whatever follows the SOI or whatever the APP1 payload is.
func FuzzOrientation(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add(exifPayloadWith(binary.LittleEndian, 6), false)
	f.Add(exifPayloadWith(binary.BigEndian, 8), true)
	f.Add(withSegment([]byte{0xff, 0xd8, 0xff, 0xd9}, 0xe1, exifPayloadWith(binary.BigEndian, 3)), true)
	f.Fuzz(func(t *testing.T, data []byte, whole bool) {
		if !whole {
			data = withSegment([]byte{0xff, 0xd8}, 0xe1, data[:min(len(data), 0xfff0)])
		}
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
