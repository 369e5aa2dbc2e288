package preprocess

import "math"

// Lossy WebP (VP8) stores limited-range ("video") BT.601 YCbCr: luma spans
// 16–235 and chroma 16–240, unlike JPEG's full range. image.YCbCr has no
// notion of range, so x/image/webp's output must not go through the JPEG
// conversion (golang.org/issue/40173): black would come out as 16 and white
// as 235. These tables convert as libwebp does, with 16 fraction bits:
// Y scales by 255/219 and the chroma terms by 255/224 times the JPEG
// coefficients.
var vY, vCrR, vCbB, vCrG, vCbG [256]int32

func init() {
	const ys, cs = 255.0 / 219, 255.0 / 224
	fix := func(v float64) int32 { return int32(math.Round(v * (1 << scaleBits))) }
	for i := range 256 {
		y, c := float64(i-16), float64(i-128)
		vY[i] = fix(ys*y) + oneHalf
		vCrR[i] = fix(cs * 1.402 * c)
		vCbB[i] = fix(cs * 1.772 * c)
		vCrG[i] = -fix(cs * 0.714136 * c)
		vCbG[i] = -fix(cs * 0.344136 * c)
	}
}

// videoRow converts one row of upsampled limited-range YCbCr to RGB.
func videoRow(out, yrow, cb, cr []uint8) {
	for x, yy := range yrow {
		Y := vY[yy]
		b, r := cb[x], cr[x]
		o := out[3*x : 3*x+3 : 3*x+3]
		o[0] = rangeLimit[uint32((Y+vCrR[r])>>scaleBits+rangeOffset)&rangeMask]
		o[1] = rangeLimit[uint32((Y+vCbG[b]+vCrG[r])>>scaleBits+rangeOffset)&rangeMask]
		o[2] = rangeLimit[uint32((Y+vCbB[b])>>scaleBits+rangeOffset)&rangeMask]
	}
}
