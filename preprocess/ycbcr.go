package preprocess

import "image"

// Fixed-point YCbCr→RGB coefficients of libjpeg's jdcolor.c (16 fraction bits).
const (
	scaleBits = 16
	oneHalf   = 1 << (scaleBits - 1)
	fixCrR    = 91881  // FIX(1.40200)
	fixCbB    = 116130 // FIX(1.77200)
	fixCrG    = 46802  // FIX(0.71414)
	fixCbG    = 22554  // FIX(0.34414)
)

// Lookup tables of the conversion, as libjpeg builds them: crR and cbB are
// the rounded red and blue offsets, cbG+crG the green offset before its
// final shift (with the rounding half folded into cbG).
var crR, cbB, crG, cbG [256]int32

// rangeLimit clamps to 0-255: index v+rangeOffset for v in [-rangeOffset,
// 1024-rangeOffset).
var rangeLimit [1024]uint8

const (
	rangeOffset = 384
	rangeMask   = 1023
)

func init() {
	for i := range 256 {
		x := int32(i) - 128
		crR[i] = (fixCrR*x + oneHalf) >> scaleBits
		cbB[i] = (fixCbB*x + oneHalf) >> scaleBits
		crG[i] = -fixCrG * x
		cbG[i] = -fixCbG*x + oneHalf
	}
	for i := range rangeLimit {
		rangeLimit[i] = uint8(min(max(i-rangeOffset, 0), 255))
	}
}

// ycbcrToRGB converts a decoded JPEG into interleaved RGB. 4:2:0 and 4:2:2
// chroma are upsampled with libjpeg's fancy (triangle) filter, other
// subsamplings by replication, as libjpeg does for them.
func ycbcrToRGB(dst *RGB, m *image.YCbCr) {
	fillRows(dst, newYCbCrRows(m, dst.Width, dst.Height, false).row)
}

// ycbcrRows converts a YCbCr image to RGB one row at a time, so that a
// reduced decode never holds the whole RGB image. Chroma is upsampled as
// ycbcrToRGB says; video selects the limited-range BT.601 matrix of VP8
// (lossy WebP) instead of JPEG's full-range one.
type ycbcrRows struct {
	m      *image.YCbCr
	w, h   int
	video  bool
	cb, cr []uint8
	colsum []int32
}

func newYCbCrRows(m *image.YCbCr, w, h int, video bool) *ycbcrRows {
	c := &ycbcrRows{m: m, w: w, h: h, video: video, cb: make([]uint8, w), cr: make([]uint8, w)}
	if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		c.colsum = make([]int32, 2*((w+1)/2))
	}
	return c
}

// row writes row y of the image as RGB into out (len 3·w).
func (c *ycbcrRows) row(y int, out []uint8) {
	m, w, h := c.m, c.w, c.h
	cb, cr := c.cb, c.cr
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		off := y * m.CStride
		copy(cb, m.Cb[off:off+w])
		copy(cr, m.Cr[off:off+w])
	case image.YCbCrSubsampleRatio422:
		off := y * m.CStride
		fancyH2(cb, m.Cb[off:off+(w+1)/2])
		fancyH2(cr, m.Cr[off:off+(w+1)/2])
	case image.YCbCrSubsampleRatio420:
		cw, ch := (w+1)/2, (h+1)/2
		cy := y / 2
		// The nearer chroma row weighs 3, the other 1 (edges replicate).
		near := cy
		far := cy - 1
		if y%2 == 1 {
			far = cy + 1
		}
		if far < 0 {
			far = 0
		}
		if far >= ch {
			far = ch - 1
		}
		fancyV2H2(cb, c.colsum, m.Cb[near*m.CStride:near*m.CStride+cw], m.Cb[far*m.CStride:far*m.CStride+cw])
		fancyV2H2(cr, c.colsum, m.Cr[near*m.CStride:near*m.CStride+cw], m.Cr[far*m.CStride:far*m.CStride+cw])
	default:
		for x := 0; x < w; x++ {
			off := m.COffset(x+m.Rect.Min.X, y+m.Rect.Min.Y)
			cb[x], cr[x] = m.Cb[off], m.Cr[off]
		}
	}
	yrow := m.Y[y*m.YStride : y*m.YStride+w]
	out = out[:3*len(yrow)]
	cb, cr = cb[:len(yrow)], cr[:len(yrow)]
	if c.video {
		videoRow(out, yrow, cb, cr)
		return
	}
	for x, yy := range yrow {
		Y := int32(yy) + rangeOffset
		b, r := cb[x], cr[x]
		o := out[3*x : 3*x+3 : 3*x+3]
		o[0] = rangeLimit[uint32(Y+crR[r])&rangeMask]
		o[1] = rangeLimit[uint32(Y+(cbG[b]+crG[r])>>scaleBits)&rangeMask]
		o[2] = rangeLimit[uint32(Y+cbB[b])&rangeMask]
	}
}

// fancyH2 doubles a chroma row horizontally as libjpeg's h2v1_fancy_upsample:
// each output sample is 3/4 of the nearer input and 1/4 of the farther one,
// with alternating rounding.
func fancyH2(out, in []uint8) {
	n := len(in)
	w := len(out)
	if n == 1 {
		for i := range out {
			out[i] = in[0]
		}
		return
	}
	set := func(i int, v int32) {
		if i < w {
			out[i] = uint8(v)
		}
	}
	set(0, int32(in[0]))
	set(1, (int32(in[0])*3+int32(in[1])+2)>>2)
	for i := 1; i < n-1; i++ {
		c := int32(in[i]) * 3
		set(2*i, (c+int32(in[i-1])+1)>>2)
		set(2*i+1, (c+int32(in[i+1])+2)>>2)
	}
	set(2*(n-1), (int32(in[n-1])*3+int32(in[n-2])+1)>>2)
	set(2*(n-1)+1, int32(in[n-1]))
}

// fancyV2H2 produces one output row of libjpeg's h2v2_fancy_upsample from the
// nearer and farther chroma rows.
func fancyV2H2(out []uint8, colsum []int32, near, far []uint8) {
	n := len(near)
	w := len(out)
	for i := 0; i < n; i++ {
		colsum[i] = 3*int32(near[i]) + int32(far[i])
	}
	set := func(i int, v int32) {
		if i < w {
			out[i] = uint8(v)
		}
	}
	if n == 1 {
		set(0, (colsum[0]*4+8)>>4)
		set(1, (colsum[0]*4+7)>>4)
		return
	}
	set(0, (colsum[0]*4+8)>>4)
	set(1, (colsum[0]*3+colsum[1]+7)>>4)
	for i := 1; i < n-1; i++ {
		c := colsum[i] * 3
		set(2*i, (c+colsum[i-1]+8)>>4)
		set(2*i+1, (c+colsum[i+1]+7)>>4)
	}
	set(2*(n-1), (colsum[n-1]*3+colsum[n-2]+8)>>4)
	set(2*(n-1)+1, (colsum[n-1]*4+7)>>4)
}
