package preprocess

import (
	"image"
	"image/color"
	"math/bits"
)

// rowFunc writes row y (0-based) of an image as interleaved RGB into out,
// which holds 3·width samples.
type rowFunc func(y int, out []uint8)

// rgbRows returns the RGB rows of a decoded image whose bounds start at the
// origin. Alpha is dropped, not composited; format selects the YCbCr matrix
// (limited range for WebP, full range for JPEG).
func rgbRows(img image.Image, format string) rowFunc {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		return newYCbCrRows(m, w, h, format == "webp").row
	case *image.NYCbCrA:
		return newYCbCrRows(&m.YCbCr, w, h, format == "webp").row
	case *image.Gray:
		return func(y int, out []uint8) {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
		}
	case *image.CMYK:
		return func(y int, out []uint8) {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				k := 255 - int(row[4*x+3])
				out[3*x] = div255((255 - int(row[4*x])) * k)
				out[3*x+1] = div255((255 - int(row[4*x+1])) * k)
				out[3*x+2] = div255((255 - int(row[4*x+2])) * k)
			}
		}
	case *image.NRGBA:
		return func(y int, out []uint8) { copyRow(out, m.Pix[y*m.Stride:], w, 4) }
	case *image.RGBA:
		if opaque(m) {
			return func(y int, out []uint8) { copyRow(out, m.Pix[y*m.Stride:], w, 4) }
		}
	case *image.Paletted:
		return palettedRows(m, w)
	}
	return genericRows(img)
}

// palettedRows maps palette indices through the palette's non-premultiplied
// colours; an index past the palette reads as black.
func palettedRows(m *image.Paletted, w int) rowFunc {
	var lut [256][3]uint8
	for i, c := range m.Palette[:min(len(m.Palette), len(lut))] {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		lut[i] = [3]uint8{n.R, n.G, n.B}
	}
	return func(y int, out []uint8) {
		for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
			c := lut[v]
			out[3*x], out[3*x+1], out[3*x+2] = c[0], c[1], c[2]
		}
	}
}

// genericRows handles the rarer colour models (16-bit, premultiplied with
// transparency) through their non-premultiplied colour.
func genericRows(img image.Image) rowFunc {
	b := img.Bounds()
	return func(y int, out []uint8) {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			out[3*x], out[3*x+1], out[3*x+2] = c.R, c.G, c.B
		}
	}
}

func div255(v int) uint8 { return uint8((v + 127) / 255) }

// copyRow copies the first three of every step samples of w pixels.
func copyRow(out, row []uint8, w, step int) {
	for x := 0; x < w; x++ {
		out[3*x], out[3*x+1], out[3*x+2] = row[step*x], row[step*x+1], row[step*x+2]
	}
}

func copyRGB(dst *RGB, pix []uint8, stride, step int) {
	for y := 0; y < dst.Height; y++ {
		copyRow(dst.Pix[3*y*dst.Width:], pix[y*stride:], dst.Width, step)
	}
}

func opaque(m *image.RGBA) bool {
	for i := 0; i < len(m.Pix); i += 4 {
		if m.Pix[i+3] != 0xff {
			return false
		}
	}
	return true
}

// fillRows writes every row of dst from row.
func fillRows(dst *RGB, row rowFunc) {
	n := 3 * dst.Width
	for y := 0; y < dst.Height; y++ {
		row(y, dst.Pix[y*n:(y+1)*n])
	}
}

// rows reads the image's own rows.
func (m *RGB) rows(y int, out []uint8) {
	copy(out, m.Pix[3*y*m.Width:3*(y+1)*m.Width])
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// boxReduce shrinks a w×h image, read row by row, by the integer factor d
// (a power of two): output pixel (X, Y) is the rounded mean of the source
// pixels [dX, dX+d) × [dY, dY+d) that lie inside the image, so the output
// is ⌈w/d⌉×⌈h/d⌉ with the last column and row averaging fewer pixels, as
// libjpeg's scaled sizes are. Only one source row is held at a time.
func boxReduce(w, h, d int, row rowFunc) *RGB {
	ow, oh := ceilDiv(w, d), ceilDiv(h, d)
	dst := &RGB{Width: ow, Height: oh, Pix: make([]uint8, 3*ow*oh)}
	src := make([]uint8, 3*w)
	colsum := make([]uint32, 3*w) // each sample summed over the block's rows
	for oy := 0; oy < oh; oy++ {
		clear(colsum)
		y0, y1 := oy*d, min(oy*d+d, h)
		for y := y0; y < y1; y++ {
			row(y, src)
			cs := colsum[:len(src)]
			for i, v := range src {
				cs[i] += uint32(v)
			}
		}
		meanBlocks(dst.Pix[3*oy*ow:3*(oy+1)*ow], colsum, w, d, y1-y0)
	}
	return dst
}

// meanBlocks writes the rounded means of blocks d pixels wide (fewer in the
// last) from column sums over rows rows. d is a power of two (boxReduce's),
// so whole blocks, d² pixels, divide by a shift.
func meanBlocks(out []uint8, colsum []uint32, w, d, rows int) {
	whole := uint32(d * d)
	shift := bits.TrailingZeros32(whole)
	for ox := 0; ox < len(out)/3; ox++ {
		x0, x1 := ox*d, min(ox*d+d, w)
		var r, g, b uint32
		cs := colsum[3*x0 : 3*x1]
		for i := 0; i < len(cs); i += 3 {
			r += cs[i]
			g += cs[i+1]
			b += cs[i+2]
		}
		o := out[3*ox : 3*ox+3 : 3*ox+3]
		n := uint32((x1 - x0) * rows)
		if n == whole {
			o[0], o[1], o[2] = uint8((r+n/2)>>shift), uint8((g+n/2)>>shift), uint8((b+n/2)>>shift)
			continue
		}
		o[0], o[1], o[2] = uint8((r+n/2)/n), uint8((g+n/2)/n), uint8((b+n/2)/n)
	}
}
