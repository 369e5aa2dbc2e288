package preprocess

// reductions lists the scale factors of DecodeReduced, as denominators,
// from the largest reduction down: the IDCT scalings of libjpeg-turbo that
// are powers of two.
var reductions = []int{8, 4, 2}

// reduction returns the largest d of reductions for which an image whose
// longer side is long decodes with a longer side of at least minLong
// (⌈long/d⌉ ≥ minLong), or 1 when none does.
func reduction(long, minLong int) int {
	for _, d := range reductions {
		if ceilDiv(long, d) >= minLong {
			return d
		}
	}
	return 1
}

// DecodeReduced is Decode at a reduced scale, for finding faces in large
// photos: it decodes at the largest reduction of 1/2, 1/4 or 1/8 that keeps
// the decoded image's longer side at least minLong pixels (any reduction
// qualifies when minLong ≤ 0; none does when the image is too small), and
// returns scale, the decoded pixels per source pixel along each axis (0.125,
// 0.25, 0.5 or 1). The decoded image is ⌈W·scale⌉×⌈H·scale⌉ before EXIF
// orientation, then turned upright as Decode does; Info is Decode's, with
// the stored full-size dimensions, which maxPixels (DefaultMaxPixels when
// ≤ 0) limits, except Grayscale, which describes the pixels returned:
// averaging can make an image with a few coloured pixels gray.
//
// The libjpeg-turbo build decodes a JPEG straight at the reduced size with
// its IDCT scaling, which is much faster and uses memory for the reduced
// image only (plus the whole coefficient buffer of a progressive JPEG). The
// pure-Go build, and every other format, decodes in full and averages
// scale⁻¹×scale⁻¹ boxes while converting to RGB, a row at a time, so that
// no full-size RGB image is held. Both builds return the same size; the
// pixels differ by a few levels.
func DecodeReduced(data []byte, maxPixels, minLong int) (*RGB, Info, float64, error) {
	info, err := Check(data, maxPixels)
	if err != nil {
		return nil, info, 0, err
	}
	d := reduction(max(info.Width, info.Height), minLong)
	m, info, err := decode(data, info, d)
	if err != nil {
		return nil, info, 0, err
	}
	return m, info, 1 / float64(d), nil
}
