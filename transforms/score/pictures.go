package score

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"sort"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/preprocess"
)

// AnnotatedDir is the folder of the annotated photos (--annotate).
const AnnotatedDir = "annotated"

// faceThumbnail draws what the model saw of a scored face, size×size: the
// crop aligned from its keypoints (as scoring aligned it), or the whole
// image for a face scored as it was.
func faceThumbnail(ctx context.Context, sc Scored, size int) (image.Image, error) {
	data, err := fsio.ReadFile(ctx, sc.Path)
	if err != nil {
		return nil, err
	}
	img, _, scale, err := preprocess.DecodeReduced(data, 0, faces.DecodeLong)
	if err != nil {
		return nil, err
	}
	if sc.Aligned == faces.AlignedDetected && len(sc.Keypoints) == 2*faces.NumKeypoints {
		var f faces.Face
		for k := range f.Keypoints {
			f.Keypoints[k] = faces.Point{X: float64(sc.Keypoints[2*k]) * scale, Y: float64(sc.Keypoints[2*k+1]) * scale}
		}
		if m, err := faces.AlignTo(f, faces.Template); err == nil {
			img = faces.Align(img, m)
		}
	}
	thumb := &preprocess.RGB{Width: size, Height: size, Pix: preprocess.Quantize(nil, img.ResizeFloat32(size, size, nil))}
	return thumb.Image(), nil
}

// photoSample keeps the faces of n photos chosen across the input: those
// whose paths hash lowest (a max-heap on the hash), so that the sample does
// not depend on the order of the files or their names. Rows of one photo
// arrive together (one photo's faces are in one predictions file, in a row).
type photoSample struct {
	n    int
	byP  map[string]*photoGroup
	heap []*photoGroup
}

type photoGroup struct {
	path  string
	hash  uint64
	faces []Scored
}

func newPhotoSample(n int) *photoSample { return &photoSample{n: n, byP: map[string]*photoGroup{}} }

func (s *photoSample) Len() int           { return len(s.heap) }
func (s *photoSample) Less(i, j int) bool { return s.heap[i].hash > s.heap[j].hash }
func (s *photoSample) Swap(i, j int)      { s.heap[i], s.heap[j] = s.heap[j], s.heap[i] }
func (s *photoSample) Push(x any)         { s.heap = append(s.heap, x.(*photoGroup)) }
func (s *photoSample) Pop() any {
	last := s.heap[len(s.heap)-1]
	s.heap = s.heap[:len(s.heap)-1]
	return last
}

func (s *photoSample) add(sc Scored) {
	if s.n <= 0 {
		return
	}
	if g, ok := s.byP[sc.Path]; ok {
		g.faces = append(g.faces, sc)
		return
	}
	h := fnv.New64a()
	h.Write([]byte(sc.Path))
	g := &photoGroup{path: sc.Path, hash: h.Sum64(), faces: []Scored{sc}}
	switch {
	case len(s.heap) < s.n:
		heap.Push(s, g)
	case g.hash < s.heap[0].hash:
		delete(s.byP, s.heap[0].path)
		s.heap[0] = g
		heap.Fix(s, 0)
	default:
		return
	}
	s.byP[sc.Path] = g
}

// groups returns the sampled photos in path order.
func (s *photoSample) groups() []*photoGroup {
	out := append([]*photoGroup(nil), s.heap...)
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// writeAnnotated draws each sampled photo with its faces' boxes, keypoints
// and "age, gender" labels into annotated/, as JPEG. Photos larger than
// faces.DecodeLong are drawn at that size.
func writeAnnotated(ctx context.Context, out string, groups []*photoGroup, maxPixels int) error {
	used := map[string]bool{}
	for _, g := range groups {
		data, err := fsio.ReadFile(ctx, g.path)
		if err != nil {
			return fmt.Errorf("annotating %s: %w", g.path, err)
		}
		img, _, scale, err := preprocess.DecodeReduced(data, maxPixels, faces.DecodeLong)
		if err != nil {
			return fmt.Errorf("annotating %s: %w", g.path, err)
		}
		canvas := img.Image()
		for _, sc := range g.faces {
			drawFace(canvas, sc, scale)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, canvas, &jpeg.Options{Quality: 90}); err != nil {
			return err
		}
		name := strings.TrimSuffix(fsio.Base(g.path), ".jpg") + ".jpg"
		for i := 1; used[name]; i++ {
			name = fmt.Sprintf("%d-%s", i, strings.TrimSuffix(fsio.Base(g.path), ".jpg")+".jpg")
		}
		used[name] = true
		if err := fsio.WriteFile(ctx, fsio.Join(out, AnnotatedDir, name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

var (
	boxColor   = color.RGBA{0x20, 0xd0, 0x40, 0xff}
	pointColor = color.RGBA{0xff, 0x30, 0x30, 0xff}
)

// drawFace draws one face's box (2 px wide), keypoints and label onto a
// photo drawn at scale (drawn pixels per source pixel).
func drawFace(m *image.RGBA, sc Scored, scale float64) {
	b := sc.Box
	x0, y0 := int(b.X*scale), int(b.Y*scale)
	x1, y1 := int((b.X+b.W)*scale), int((b.Y+b.H)*scale)
	t := max(2, m.Bounds().Dx()/500)
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(m, r.Intersect(m.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
	}
	fill(image.Rect(x0, y0, x1, y0+t), boxColor)
	fill(image.Rect(x0, y1-t, x1, y1), boxColor)
	fill(image.Rect(x0, y0, x0+t, y1), boxColor)
	fill(image.Rect(x1-t, y0, x1, y1), boxColor)
	for k := 0; k+1 < len(sc.Keypoints); k += 2 {
		px, py := int(float64(sc.Keypoints[k])*scale), int(float64(sc.Keypoints[k+1])*scale)
		fill(image.Rect(px-t, py-t, px+t+1, py+t+1), pointColor)
	}
	label := predictionLabel(sc)
	if label == "" {
		return
	}
	face := basicfont.Face7x13
	w := font.MeasureString(face, label).Ceil() + 6
	ly := max(14, y0-2)
	fill(image.Rect(x0, ly-14, x0+w, ly+2), color.Black)
	d := font.Drawer{Dst: m, Src: image.NewUniform(color.White), Face: face, Dot: fixed.P(x0+3, ly-2)}
	d.DrawString(label)
}

// predictionLabel is "age, gender probability" of a face, e.g. "34, F 91%".
func predictionLabel(sc Scored) string {
	var parts []string
	if !math.IsNaN(sc.PredAge) {
		parts = append(parts, fmt.Sprintf("%.0f", sc.PredAge))
	}
	if !math.IsNaN(sc.PFemale) {
		g := "M"
		if sc.PFemale >= 0.5 {
			g = "F"
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", g, 100*math.Max(sc.PFemale, 1-sc.PFemale)))
	}
	return strings.Join(parts, ", ")
}
