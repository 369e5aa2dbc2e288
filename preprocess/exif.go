package preprocess

import (
	"bytes"
	"encoding/binary"
)

// EXIF Orientation values (TIFF tag 0x0112). Each names where the stored
// image's first row and first column appear when the image is viewed
// upright: 1 is top/left (as stored), 6 is right/top (rotate 90° clockwise
// to view), 8 is left/bottom (rotate 90° counter-clockwise).
const (
	orientTopLeft     = 1
	orientTopRight    = 2 // mirrored left to right
	orientBottomRight = 3 // rotated 180°
	orientBottomLeft  = 4 // mirrored top to bottom
	orientLeftTop     = 5 // transposed
	orientRightTop    = 6
	orientRightBottom = 7 // transversed
	orientLeftBottom  = 8
)

const tagOrientation = 0x0112

// jpegOrientation returns the EXIF Orientation of a JPEG, 1 to 8, from its
// first APP1 Exif segment; 1 when there is none or its value is not valid.
// It walks the marker segments up to the start of scan (or the end of
// data, which may be only the head of a file) and reads at most the one
// IFD it needs: it neither allocates nor indexes outside data, whatever the
// bytes.
func jpegOrientation(data []byte) int {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return orientTopLeft // lost marker sync: no metadata to trust
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7): // no length
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // SOS, EOI: metadata is over
			return orientTopLeft
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 {
			return orientTopLeft
		}
		end := min(i+2+n, len(data))
		if marker == 0xe1 {
			if o, ok := exifOrientation(data[i+4 : end]); ok {
				return o
			}
		}
		i += 2 + n
	}
	return orientTopLeft
}

var exifHeader = []byte("Exif\x00\x00")

// exifOrientation reads the Orientation tag of IFD0 from an APP1 payload. ok
// is false when the payload is not Exif (XMP also lives in APP1); o is 1
// when the TIFF structure is broken or the tag absent or out of range.
func exifOrientation(p []byte) (o int, ok bool) {
	if !bytes.HasPrefix(p, exifHeader) {
		return 0, false
	}
	t := p[len(exifHeader):] // TIFF header and IFDs; offsets count from here
	if len(t) < 8 {
		return orientTopLeft, true
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return orientTopLeft, true
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return orientTopLeft, true
	}
	count := int(bo.Uint16(t[off:]))
	entries := t[off+2:]
	for k := 0; k < count && 12*k+12 <= len(entries); k++ {
		e := entries[12*k : 12*k+12]
		if bo.Uint16(e) != tagOrientation {
			continue
		}
		var v uint32
		switch typ, n := bo.Uint16(e[2:]), bo.Uint32(e[4:]); {
		case n != 1:
			return orientTopLeft, true
		case typ == 3: // SHORT, as the standard says
			v = uint32(bo.Uint16(e[8:]))
		case typ == 4: // LONG, written by a few tools
			v = bo.Uint32(e[8:])
		default:
			return orientTopLeft, true
		}
		if v < orientTopLeft || v > orientLeftBottom {
			return orientTopLeft, true
		}
		return int(v), true
	}
	return orientTopLeft, true
}

// swapsAxes reports whether an orientation turns the image by a quarter, so
// that the upright width is the stored height.
func swapsAxes(o int) bool { return o >= orientLeftTop && o <= orientLeftBottom }

// orient returns the image as viewed upright under EXIF orientation o: m
// itself for 1 (or an invalid o), a new image otherwise.
func (m *RGB) orient(o int) *RGB {
	if o <= orientTopLeft || o > orientLeftBottom {
		return m
	}
	w, h := m.Width, m.Height
	// Upright pixel (0,0) is stored pixel (x0, y0); one step right upright
	// moves (dxX, dxY) in the stored image, one step down (dyX, dyY).
	var x0, y0, dxX, dxY, dyX, dyY int
	switch o {
	case orientTopRight:
		x0, y0, dxX, dxY, dyX, dyY = w-1, 0, -1, 0, 0, 1
	case orientBottomRight:
		x0, y0, dxX, dxY, dyX, dyY = w-1, h-1, -1, 0, 0, -1
	case orientBottomLeft:
		x0, y0, dxX, dxY, dyX, dyY = 0, h-1, 1, 0, 0, -1
	case orientLeftTop:
		x0, y0, dxX, dxY, dyX, dyY = 0, 0, 0, 1, 1, 0
	case orientRightTop:
		x0, y0, dxX, dxY, dyX, dyY = 0, h-1, 0, -1, 1, 0
	case orientRightBottom:
		x0, y0, dxX, dxY, dyX, dyY = w-1, h-1, 0, -1, -1, 0
	case orientLeftBottom:
		x0, y0, dxX, dxY, dyX, dyY = w-1, 0, 0, 1, -1, 0
	}
	ow, oh := w, h
	if swapsAxes(o) {
		ow, oh = h, w
	}
	dst := &RGB{Width: ow, Height: oh, Pix: make([]uint8, len(m.Pix))}
	// Steps in samples of m.Pix.
	stepX, stepY := 3*(dxY*w+dxX), 3*(dyY*w+dyX)
	start := 3 * (y0*w + x0)
	// Tiles keep the stored rows that a quarter turn reads across in cache.
	const tile = 64
	for ty := 0; ty < oh; ty += tile {
		for tx := 0; tx < ow; tx += tile {
			for y := ty; y < min(ty+tile, oh); y++ {
				s := start + y*stepY + tx*stepX
				out := dst.Pix[3*(y*ow+tx) : 3*(y*ow+min(tx+tile, ow))]
				for x := 0; x < len(out); x += 3 {
					out[x], out[x+1], out[x+2] = m.Pix[s], m.Pix[s+1], m.Pix[s+2]
					s += stepX
				}
			}
		}
	}
	return dst
}
