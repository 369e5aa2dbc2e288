package dataset

import (
	"math"
	"math/rand/v2"

	"github.com/facepipe/facepipe/preprocess"
)

// Augmentation recipes, as Options.Augmentation and train --augment name
// them.
const (
	// AugmentRecipe is the recipe's augmentation: reflect-pad crop, flip,
	// brightness and contrast.
	AugmentRecipe = "recipe"
	// AugmentPhotos adds, before the recipe's, what faces found in
	// ordinary photos go through: the detector's alignment noise, lower
	// resolution, blur, JPEG compression, colour casts and sensor noise
	// (photoAugment).
	AugmentPhotos = "photos"
)

// The photos augmentation's parameters. The alignment jitter is the spread
// of the detector's keypoints over UTKFace crops (3.8–6.6 px a coordinate
// on 200 px, faces.Template), and a few degrees of roll left after aligning
// on the eye line.
const (
	jitterShift   = 0.025 // s.d. of the shift, in image sides
	jitterAngle   = 4.0   // s.d. of the rotation, degrees
	jitterScale   = 0.05  // s.d. of the log of the scale
	lowResP       = 0.3   // chance of a lower resolution: down by U(1.5, 4), then up
	blurP         = 0.2   // chance of a Gaussian blur of σ U(0.3, 1.2) px
	jpegP         = 0.3   // chance of JPEG at quality U(30, 90)
	noiseP        = 0.3   // chance of Gaussian noise of σ U(0, 0.03)
	channelGain   = 0.08  // colour cast: each channel ×U(1±channelGain)
	saturationMax = 0.3   // saturation ×U(1±saturationMax)
	surroundP     = 0.5   // chance of new surroundings: the border band, U(0.03, 0.15) of the side, fades into a random background
)

// photoAugment applies the photos augmentation in place to an HWC image of
// size×size×3 in [0,1]; the recipe's augment follows it.
func photoAugment(img []float32, size int, rng *rand.Rand) {
	// Alignment jitter: one similarity about the centre, reflecting at the
	// border, sampled bilinearly.
	angle := rng.NormFloat64() * jitterAngle * math.Pi / 180
	scale := math.Exp(rng.NormFloat64() * jitterScale)
	tx, ty := rng.NormFloat64()*jitterShift*float64(size), rng.NormFloat64()*jitterShift*float64(size)
	warp(img, size, angle, scale, tx, ty)
	if rng.Float64() < surroundP {
		surround(img, size, (0.03+0.12*rng.Float64())*float64(size), rng)
	}
	if rng.Float64() < lowResP {
		small := max(4, int(float64(size)/(1.5+2.5*rng.Float64())))
		down := preprocess.ResizeArea(img, size, size, 3, small, small, nil)
		copy(img, upsample(down, small, size))
	}
	if rng.Float64() < blurP {
		gaussianBlur(img, size, 0.3+0.9*rng.Float64())
	}
	if rng.Float64() < jpegP {
		recompress(img, size, 30+rng.IntN(61))
	}
	var gain [3]float32
	for c := range gain {
		gain[c] = float32(1 + channelGain*(2*rng.Float64()-1))
	}
	sat := float32(1 + saturationMax*(2*rng.Float64()-1))
	sigma := 0.0
	if rng.Float64() < noiseP {
		sigma = 0.03 * rng.Float64()
	}
	for i := 0; i < len(img); i += 3 {
		p := img[i : i+3 : i+3]
		gray := 0.299*p[0] + 0.587*p[1] + 0.114*p[2]
		for c := 0; c < 3; c++ {
			v := (gray + (p[c]-gray)*sat) * gain[c]
			if sigma > 0 {
				v += float32(rng.NormFloat64() * sigma)
			}
			p[c] = min(max(v, 0), 1)
		}
	}
}

// surround fades the image's border band of the given width into a random
// background (a colour, a gradient across the image and blurred noise), as
// the surroundings of a face in a photo differ from those of a UTKFace crop
// (hair, clothes and background cut off by the crop, another scene around a
// pasted face). The image's alpha is the product of linear ramps from 0 at
// each edge to 1 at width inside.
func surround(img []float32, size int, width float64, rng *rand.Rand) {
	bg := make([]float32, len(img))
	var base, grad [3]float64
	for c := range base {
		base[c], grad[c] = rng.Float64(), 0.6*(rng.Float64()-0.5)
	}
	dir := rng.Float64() * 2 * math.Pi
	dx, dy := math.Cos(dir), math.Sin(dir)
	sigma := 0.1 * rng.Float64()
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			t := (dx*float64(x) + dy*float64(y)) / float64(size)
			for c := 0; c < 3; c++ {
				bg[3*(y*size+x)+c] = float32(base[c] + grad[c]*t + sigma*rng.NormFloat64())
			}
		}
	}
	gaussianBlur(bg, size, 1)
	ramp := func(d float64) float32 { return float32(min(1, max(0, (d+0.5)/width))) }
	for y := 0; y < size; y++ {
		ay := ramp(float64(min(y, size-1-y)))
		for x := 0; x < size; x++ {
			a := ay * ramp(float64(min(x, size-1-x)))
			for c := 0; c < 3; c++ {
				i := 3*(y*size+x) + c
				img[i] = min(max(a*img[i]+(1-a)*bg[i], 0), 1)
			}
		}
	}
}

// warp resamples the image through a similarity about its centre: the
// output pixel at p shows the input at centre + R(angle)·(p − centre)/scale
// − (tx, ty). Outside, the image is reflected.
func warp(img []float32, size int, angle, scale, tx, ty float64) {
	src := append([]float32(nil), img...)
	c := float64(size) / 2
	cos, sin := math.Cos(angle)/scale, math.Sin(angle)/scale
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
			sx := c + cos*dx - sin*dy - tx - 0.5
			sy := c + sin*dx + cos*dy - ty - 0.5
			sampleReflect(src, size, sx, sy, img[3*(y*size+x):3*(y*size+x)+3])
		}
	}
}

// sampleReflect interpolates the image bilinearly at (x, y), pixel centres
// at integers, reflecting positions outside it.
func sampleReflect(src []float32, size int, x, y float64, out []float32) {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := float32(x-x0), float32(y-y0)
	ix, iy := int(x0), int(y0)
	at := func(xx, yy, ch int) float32 {
		return src[3*(reflectIndex(yy, size)*size+reflectIndex(xx, size))+ch]
	}
	for ch := 0; ch < 3; ch++ {
		top := at(ix, iy, ch)*(1-fx) + at(ix+1, iy, ch)*fx
		bot := at(ix, iy+1, ch)*(1-fx) + at(ix+1, iy+1, ch)*fx
		out[ch] = top*(1-fy) + bot*fy
	}
}

// reflectIndex folds an index into [0, n) by mirroring at the edges.
func reflectIndex(v, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	v %= period
	if v < 0 {
		v += period
	}
	if v >= n {
		v = period - v
	}
	return v
}

// upsample resizes a small×small image to size×size bilinearly.
func upsample(src []float32, small, size int) []float32 {
	out := make([]float32, size*size*3)
	r := float64(small) / float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			sx := math.Max(0, math.Min(float64(small-1), (float64(x)+0.5)*r-0.5))
			sy := math.Max(0, math.Min(float64(small-1), (float64(y)+0.5)*r-0.5))
			sampleReflect(src, small, sx, sy, out[3*(y*size+x):3*(y*size+x)+3])
		}
	}
	return out
}

// gaussianBlur blurs the image in place with a separable Gaussian of
// standard deviation sigma pixels, reflecting at the edges.
func gaussianBlur(img []float32, size int, sigma float64) {
	r := int(math.Ceil(2 * sigma))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, len(img))
	for pass := 0; pass < 2; pass++ {
		src, dst := img, tmp
		if pass == 1 {
			src, dst = tmp, img
		}
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				var acc [3]float32
				for i, w := range k {
					xx, yy := x, y
					if pass == 0 {
						xx = reflectIndex(x+i-r, size)
					} else {
						yy = reflectIndex(y+i-r, size)
					}
					s := src[3*(yy*size+xx):]
					acc[0] += w * s[0]
					acc[1] += w * s[1]
					acc[2] += w * s[2]
				}
				copy(dst[3*(y*size+x):], acc[:])
			}
		}
	}
}

// recompress passes the image through JPEG at the given quality.
func recompress(img []float32, size, quality int) {
	m := &preprocess.RGB{Width: size, Height: size, Pix: preprocess.Quantize(nil, img)}
	data, err := m.EncodeJPEG(quality)
	if err != nil {
		return
	}
	dec, _, err := preprocess.Decode(data, 0)
	if err != nil || len(dec.Pix) != len(img) {
		return
	}
	for i, v := range dec.Pix {
		img[i] = float32(v) / 255
	}
}
