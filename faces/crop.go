package faces

import (
	"fmt"
	"math"

	"github.com/facepipe/facepipe/preprocess"
)

// Modes of finding the faces of an image, as --faces takes them.
const (
	// ModeAuto detects faces, and scores an image that already is an aligned
	// face crop (AlreadyAligned) as it is, without resampling it.
	ModeAuto = "auto"
	// ModeDetect detects faces and aligns every one onto the template.
	ModeDetect = "detect"
	// ModeWhole takes the whole image as the face, as UTKFace crops are.
	ModeWhole = "whole"
)

// CheckMode validates a --faces value.
func CheckMode(mode string) error {
	switch mode {
	case ModeAuto, ModeDetect, ModeWhole:
		return nil
	}
	return fmt.Errorf("--faces=%q: want auto, detect or whole", mode)
}

// How a crop was made, as the predictions' aligned column says.
const (
	AlignedDetected = "detected" // warped onto the template from the keypoints
	AlignedAsIs     = "as_is"    // the image already was an aligned crop
	AlignedWhole    = "whole"    // the whole image, without detection
)

// AsIsTolerance is how far, in pixels of a CropSize crop, the eyes and mouth
// of a face may lie from the template for the image to count as an aligned
// crop already: about twice the spread of the detector's keypoints over
// UTKFace's crops (3.8–4.6 px per coordinate for the eyes and mouth).
const AsIsTolerance = 12

// AlreadyAligned reports whether a w×h image is a face crop laid out as
// UTKFace's, with f its face: square (within 1%), and f's eyes and mouth,
// scaled to CropSize, within AsIsTolerance of the template. Resampling such
// an image onto the template would only add the detector's noise.
func AlreadyAligned(w, h int, f Face) bool {
	if w <= 0 || math.Abs(float64(w-h)) > 0.01*float64(w) {
		return false
	}
	return nearTemplate(f, CropSize/float64(w), AsIsTolerance)
}

// nearTemplate reports whether a face's eyes and mouth, their positions
// multiplied by scale, lie within tol pixels of the template.
func nearTemplate(f Face, scale, tol float64) bool {
	for _, k := range []int{EyeLeft, EyeRight, Mouth} {
		p, q := f.Keypoints[k], Template[k]
		if math.Hypot(p.X*scale-q.X, p.Y*scale-q.Y) > tol {
			return false
		}
	}
	return true
}

// Crop is one face ready for the model's preprocessing.
type Crop struct {
	Face    Face
	Image   *preprocess.RGB // CropSize×CropSize when aligned; the image itself when as_is
	Aligned string          // AlignedDetected or AlignedAsIs
}

// Crops aligns each detected face of img (in its pixels) for the model: in
// ModeAuto an image that already is an aligned crop of its best face is
// used as it is; otherwise each face is warped onto the template. A face
// whose keypoints can't be aligned (eyes at one point) is skipped.
func Crops(img *preprocess.RGB, dets []Face, mode string) []Crop {
	var out []Crop
	for i, f := range dets {
		if mode == ModeAuto && i == 0 && AlreadyAligned(img.Width, img.Height, f) {
			out = append(out, Crop{Face: f, Image: img, Aligned: AlignedAsIs})
			continue
		}
		m, err := AlignTo(f, Template)
		if err != nil {
			continue
		}
		out = append(out, Crop{Face: f, Image: Align(img, m), Aligned: AlignedDetected})
	}
	return out
}

// DecodeLong is the longer side, in pixels, that large photos are decoded
// down to (by JPEG's reduced-scale decoding where it can) before faces are
// detected and aligned: the detector needs few pixels, and a face of the
// smallest size found by default (40 source pixels) in a 12-megapixel photo
// keeps 20 (Prepare scales the plan's MinFace accordingly).
const DecodeLong = 2000

// Found is what Prepare found in one image file.
type Found struct {
	Crops []Crop
	// Scale is the decoded image's pixels per source pixel (1, or 1/2, 1/4
	// or 1/8 for large photos): the faces' boxes and keypoints are in
	// decoded pixels.
	Scale float64
	Info  preprocess.Info
	Image *preprocess.RGB // the decoded image, upright
}

// Prepare is the one face preprocessing of ingest and score: decode the
// file upright (reduced to about DecodeLong for large photos), detect its
// faces and align each one onto the template (Crops, with mode). An image
// that can't be decoded gives a *preprocess.Error; one without a face gives
// no crops and no error.
func Prepare(data []byte, maxPixels int, d *Detector, mode string) (*Found, error) {
	img, info, scale, err := preprocess.DecodeReduced(data, maxPixels, DecodeLong)
	if err != nil {
		return nil, err
	}
	// The smallest face is in source pixels: so many fewer in a reduced
	// decode.
	plan := d.Plan
	plan.MinFace *= scale
	dets, err := d.detectPlan(img, plan)
	if err != nil {
		return nil, fmt.Errorf("face detection: %w", err)
	}
	return &Found{Crops: Crops(img, dets, mode), Scale: scale, Info: info, Image: img}, nil
}

// NoFaceDetail is the detail of a no_face reject of the image Prepare
// searched with d.
func (f *Found) NoFaceDetail(d *Detector) string {
	w, h := f.Info.UprightSize()
	if d.fallback() {
		return fmt.Sprintf("no face scoring %.2f or more (--face_threshold), nor then one scoring %.2f or more (--face_fallback), was confirmed in the %d×%d image",
			d.Threshold, d.FallbackThreshold, w, h)
	}
	return fmt.Sprintf("no face scored %.2f or more (--face_threshold) and was confirmed in the %d×%d image", d.Threshold, w, h)
}

// InSource maps a face from decoded pixels to source pixels.
func (f *Found) InSource(fc Face) Face {
	s := 1 / f.Scale
	fc.Box = Box{fc.Box.X * s, fc.Box.Y * s, fc.Box.W * s, fc.Box.H * s}
	for k, p := range fc.Keypoints {
		fc.Keypoints[k] = Point{p.X * s, p.Y * s}
	}
	return fc
}
