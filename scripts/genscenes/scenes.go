package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // crops may be PNG under any name
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	xdraw "golang.org/x/image/draw"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/split"
)

// Template points of a 200×200 UTKFace crop (see
// ../shared/notes/faces-in-photos.md): the eye on the crop's left, the other
// eye and the mouth centre, in continuous pixel coordinates (pixel (i, j)
// covers [i, i+1) × [j, j+1)).
var (
	TemplateLeftEye  = [2]float64{58.7, 58.6}
	TemplateRightEye = [2]float64{137.3, 58.7}
	TemplateMouth    = [2]float64{97.5, 144.1}
)

// TemplateSize is the crop width the template points are given for; a crop
// of another (square) size has them scaled.
const TemplateSize = 200

// Source is one labelled face crop the scenes take faces from.
type Source struct {
	Name              string // base name
	Path              string // absolute path
	Age, Gender, Race int    // from the name (labels.ParseName)
}

// ListSources lists the face crops under dir (recursively: .jpg, .jpeg and
// .png files) whose UTKFace name parses and whose content falls in split
// want of spec with seed, as pipelines/ingest assigns them:
// spec.Assign(split.KeyOf(sha256hex(bytes), seed)). Byte-identical copies
// are handled as ingest does: the first by name is kept, unless their labels
// conflict, when all are dropped. The result is sorted by name.
func ListSources(dir string, spec split.Spec, want string, seed int64) ([]Source, error) {
	type file struct {
		Source
		sum string
	}
	var files []file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(d.Name())) {
		case ".jpg", ".jpeg", ".png":
		default:
			return nil
		}
		l, err := labels.ParseName(d.Name())
		if err != nil {
			return nil // ingest rejects it
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		files = append(files, file{Source: Source{Name: d.Name(), Path: abs, Age: l.Age, Gender: l.Gender, Race: l.Race}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Hash in parallel: the dev set is 20,000 files.
	errs := make([]error, len(files))
	parallel(len(files), func(i int) {
		data, err := os.ReadFile(files[i].Path)
		if err != nil {
			errs[i] = err
			return
		}
		s := sha256.Sum256(data)
		files[i].sum = hex.EncodeToString(s[:])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(files, func(a, b int) bool {
		if files[a].Name != files[b].Name {
			return files[a].Name < files[b].Name
		}
		return files[a].Path < files[b].Path
	})
	groups := map[string][]int{}
	for i, f := range files {
		groups[f.sum] = append(groups[f.sum], i)
	}
	var out []Source
	for i, f := range files {
		g := groups[f.sum]
		if g[0] != i {
			continue // a later copy
		}
		conflict := false
		for _, j := range g[1:] {
			o := files[j]
			if o.Age != f.Age || o.Gender != f.Gender || o.Race != f.Race {
				conflict = true
			}
		}
		if conflict {
			continue
		}
		if spec.Assign(split.KeyOf(f.sum, seed)) == want {
			out = append(out, f.Source)
		}
	}
	return out, nil
}

// Options control the scenes; everything generated is a deterministic
// function of them and of the sources.
type Options struct {
	Scenes  int    `json:"scenes"`
	Seed    int64  `json:"seed"`
	Size    string `json:"size"`     // "mixed" or "12mp"
	MinFace int    `json:"min_face"` // pasted crop width, pixels
	MaxFace int    `json:"max_face"`
}

// Mixed scene sizes: common photo and screen sizes from 800×600 to
// 1920×1080; a fifth of the scenes are portrait (width and height swapped).
var mixedSizes = [][2]int{
	{800, 600}, {1024, 768}, {1280, 720}, {1280, 960}, {1366, 768}, {1440, 1080}, {1600, 900}, {1920, 1080},
}

// Limits of the generator.
const (
	MinFaces   = 1
	MaxFaces   = 5
	MaxAngle   = 25.0 // degrees, either way
	MinQuality = 60
	MaxQuality = 95
	// Feathering: the alpha of a pasted crop rises from 0 at its border to
	// 1 over this fraction of its width (drawn per face), on each side.
	MinFeather = 0.06
	MaxFeather = 0.14
	placeTries = 200
)

// Scene is one planned scene.
type Scene struct {
	Name          string // file name, scene-00000.jpg
	Width, Height int
	Quality       int    // JPEG quality
	Seed          uint64 // of the background and noise
	Faces         []Face
}

// Face is one face pasted into a scene: the source crop scaled to Size×Size
// pixels, rotated by Angle degrees (counterclockwise as seen on screen, about
// its centre) and centred at (CX, CY) in scene pixels (continuous
// coordinates).
type Face struct {
	Source
	CX, CY  float64
	Size    int
	Angle   float64
	Feather float64 // fraction of Size
}

// Map returns where the point (u, v) of the source crop, in the pixel
// coordinates of a crop cropSize pixels wide, lands in the scene.
func (f Face) Map(u, v float64, cropSize int) (x, y float64) {
	s := float64(f.Size) / float64(cropSize)
	dx, dy := (u-float64(cropSize)/2)*s, (v-float64(cropSize)/2)*s
	sin, cos := math.Sincos(f.Angle * math.Pi / 180)
	return f.CX + dx*cos + dy*sin, f.CY - dx*sin + dy*cos
}

// Corners returns the scene positions of the pasted crop's corners.
func (f Face) Corners() [4][2]float64 {
	var c [4][2]float64
	for i, p := range [4][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
		c[i][0], c[i][1] = f.Map(p[0], p[1], 1)
	}
	return c
}

// extent is half the width (and height) of the axis-aligned box around the
// rotated crop.
func extent(size int, angle float64) float64 {
	sin, cos := math.Sincos(angle * math.Pi / 180)
	return float64(size) / 2 * (math.Abs(cos) + math.Abs(sin))
}

// Plan lays out the scenes: sizes, qualities and faces. Each scene gets
// MinFaces-MaxFaces faces (uniform), each of a crop width drawn
// log-uniformly in [MinFace, MaxFace] (so that small faces are as common as
// large ones, per octave), an angle uniform in ±MaxAngle and a position
// uniform among those keeping the whole rotated crop inside the frame. Faces
// do not overlap: the circles around their crops are disjoint. A face that
// finds no place in placeTries draws is left out, so crowded small scenes
// may hold fewer faces than drawn. Sources are used in a shuffled order
// (seeded), each once before any is used twice.
func Plan(sources []Source, o Options) ([]Scene, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("no source faces")
	}
	if o.MinFace < 8 || o.MaxFace < o.MinFace {
		return nil, fmt.Errorf("face sizes %d-%d: want 8 <= min <= max", o.MinFace, o.MaxFace)
	}
	if o.Size != "mixed" && o.Size != "12mp" {
		return nil, fmt.Errorf("size %q: want mixed or 12mp", o.Size)
	}
	order := rand.New(rand.NewPCG(uint64(o.Seed), 0x736f7572636573)).Perm(len(sources)) // "sources"
	next := 0
	scenes := make([]Scene, o.Scenes)
	for i := range scenes {
		r := rand.New(rand.NewPCG(uint64(o.Seed), uint64(i)+1))
		sc := Scene{Name: fmt.Sprintf("scene-%05d.jpg", i)}
		if o.Size == "12mp" {
			sc.Width, sc.Height = 4000, 3000
		} else {
			s := mixedSizes[r.IntN(len(mixedSizes))]
			sc.Width, sc.Height = s[0], s[1]
			if r.IntN(5) == 0 {
				sc.Width, sc.Height = sc.Height, sc.Width
			}
		}
		if 2*extent(o.MinFace, MaxAngle)+2 > float64(min(sc.Width, sc.Height)) {
			return nil, fmt.Errorf("faces of %d pixels do not fit a %dx%d scene", o.MinFace, sc.Width, sc.Height)
		}
		sc.Quality = MinQuality + r.IntN(MaxQuality-MinQuality+1)
		sc.Seed = r.Uint64()
		n := MinFaces + r.IntN(MaxFaces-MinFaces+1)
		for range n {
			for range placeTries {
				lo, hi := math.Log(float64(o.MinFace)), math.Log(float64(o.MaxFace)+1)
				size := min(int(math.Exp(lo+r.Float64()*(hi-lo))), o.MaxFace)
				angle := (2*r.Float64() - 1) * MaxAngle
				ext := extent(size, angle)
				fx, fy := r.Float64(), r.Float64()
				if 2*ext+2 > float64(min(sc.Width, sc.Height)) {
					continue
				}
				f := Face{
					CX: ext + 1 + fx*(float64(sc.Width)-2*ext-2), CY: ext + 1 + fy*(float64(sc.Height)-2*ext-2),
					Size: size, Angle: angle, Feather: MinFeather + r.Float64()*(MaxFeather-MinFeather),
				}
				if overlaps(f, sc.Faces) {
					continue
				}
				f.Source = sources[order[next%len(order)]]
				next++
				sc.Faces = append(sc.Faces, f)
				break
			}
		}
		if len(sc.Faces) == 0 {
			return nil, fmt.Errorf("%s: no face could be placed", sc.Name)
		}
		scenes[i] = sc
	}
	return scenes, nil
}

// overlaps says whether f's circle meets that of a placed face.
func overlaps(f Face, placed []Face) bool {
	for _, p := range placed {
		r := (float64(f.Size) + float64(p.Size)) / math.Sqrt2
		if math.Hypot(f.CX-p.CX, f.CY-p.CY) < r {
			return true
		}
	}
	return false
}

// Render draws a scene and encodes it as a JPEG: a procedural background,
// the faces, then mild sensor noise over everything. crop loads a source
// crop (it must be square).
func Render(sc Scene, crop func(path string) (image.Image, error)) ([]byte, error) {
	r := rand.New(rand.NewPCG(sc.Seed, 0x626b67)) // "bkg"
	img := background(r, sc.Width, sc.Height)
	for _, f := range sc.Faces {
		m, err := crop(f.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if b := m.Bounds(); b.Dx() != b.Dy() {
			return nil, fmt.Errorf("%s: the crop is %dx%d, want a square", f.Path, b.Dx(), b.Dy())
		}
		paste(img, m, f)
	}
	sensorNoise(r, img, 3)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: sc.Quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadCrop decodes an image file.
func LoadCrop(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	return m, err
}

// paste scales the crop to f.Size×f.Size (Catmull-Rom, which widens its
// kernel when it shrinks, so small faces do not alias), then draws it
// rotated about its centre with bilinear sampling, its alpha feathered near
// the crop border: alpha = ramp(distance to the left or right edge) ×
// ramp(distance to the top or bottom edge), each ramp a smoothstep from 0 at
// the edge to 1 at f.Feather × f.Size inside.
func paste(dst *image.RGBA, crop image.Image, f Face) {
	n := f.Size
	scaled := image.NewRGBA(image.Rect(0, 0, n, n))
	xdraw.CatmullRom.Scale(scaled, scaled.Bounds(), crop, crop.Bounds(), xdraw.Src, nil)
	ext := extent(n, f.Angle)
	b := dst.Bounds()
	x0, x1 := max(int(math.Floor(f.CX-ext))-1, b.Min.X), min(int(math.Ceil(f.CX+ext))+1, b.Max.X)
	y0, y1 := max(int(math.Floor(f.CY-ext))-1, b.Min.Y), min(int(math.Ceil(f.CY+ext))+1, b.Max.Y)
	sin, cos := math.Sincos(f.Angle * math.Pi / 180)
	half := float64(n) / 2
	feather := f.Feather * float64(n)
	for y := y0; y < y1; y++ {
		ey := float64(y) + 0.5 - f.CY
		for x := x0; x < x1; x++ {
			ex := float64(x) + 0.5 - f.CX
			// The inverse of Face.Map: scene to scaled-crop coordinates.
			p := cos*ex - sin*ey + half
			q := sin*ex + cos*ey + half
			if p <= 0 || q <= 0 || p >= float64(n) || q >= float64(n) {
				continue
			}
			a := ramp(min(p, float64(n)-p)/feather) * ramp(min(q, float64(n)-q)/feather)
			if a <= 0 {
				continue
			}
			c := bilinear(scaled, p-0.5, q-0.5)
			o := dst.PixOffset(x, y)
			px := dst.Pix[o : o+3 : o+3]
			for k := range 3 {
				px[k] = fixtures.Clamp8(a*c[k] + (1-a)*float64(px[k]))
			}
		}
	}
}

// ramp is smoothstep on [0, 1].
func ramp(t float64) float64 {
	if t >= 1 {
		return 1
	}
	if t <= 0 {
		return 0
	}
	return t * t * (3 - 2*t)
}

// bilinear samples m's RGB at (x, y) in pixel-centre coordinates (pixel i at
// i), clamping at the edges.
func bilinear(m *image.RGBA, x, y float64) [3]float64 {
	n := m.Bounds().Dx()
	fx, fy := math.Floor(x), math.Floor(y)
	tx, ty := x-fx, y-fy
	ix, iy := int(fx), int(fy)
	at := func(i, j int) []uint8 {
		i, j = min(max(i, 0), n-1), min(max(j, 0), m.Bounds().Dy()-1)
		o := m.PixOffset(i, j)
		return m.Pix[o : o+3 : o+3]
	}
	p00, p10, p01, p11 := at(ix, iy), at(ix+1, iy), at(ix, iy+1), at(ix+1, iy+1)
	var c [3]float64
	for k := range 3 {
		top := float64(p00[k])*(1-tx) + float64(p10[k])*tx
		bot := float64(p01[k])*(1-tx) + float64(p11[k])*tx
		c[k] = top*(1-ty) + bot*ty
	}
	return c
}

// background draws a procedural, face-free backdrop: a linear gradient
// between two random colours, 15-60 random rectangles and ellipses of random
// colours and opacities, a few octaves of smooth value noise, then a box
// blur (three passes, radius 1-4 pixels per 1000 pixels of the shorter
// side) so that edges are soft, as out of focus as a photo's background.
func background(r *rand.Rand, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c0, c1 := randColor(r), randColor(r)
	ga := r.Float64() * 2 * math.Pi
	gx, gy := math.Cos(ga), math.Sin(ga)
	span := math.Abs(gx)*float64(w) + math.Abs(gy)*float64(h)
	offs := math.Min(0, gx*float64(w)) + math.Min(0, gy*float64(h))
	for y := range h {
		for x := range w {
			t := (gx*float64(x) + gy*float64(y) - offs) / span
			o := img.PixOffset(x, y)
			for k := range 3 {
				img.Pix[o+k] = fixtures.Clamp8(c0[k]*(1-t) + c1[k]*t)
			}
			img.Pix[o+3] = 255
		}
	}
	shapes := 15 + r.IntN(46)
	for range shapes {
		c := randColor(r)
		a := 0.3 + 0.7*r.Float64()
		cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
		rx := (0.02 + 0.25*r.Float64()) * float64(w)
		ry := (0.02 + 0.25*r.Float64()) * float64(h)
		ellipse := r.IntN(2) == 0
		x0, x1 := max(int(cx-rx), 0), min(int(cx+rx)+1, w)
		y0, y1 := max(int(cy-ry), 0), min(int(cy+ry)+1, h)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if ellipse {
					dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
					if dx*dx+dy*dy > 1 {
						continue
					}
				}
				o := img.PixOffset(x, y)
				for k := range 3 {
					img.Pix[o+k] = fixtures.Clamp8(a*c[k] + (1-a)*float64(img.Pix[o+k]))
				}
			}
		}
	}
	valueNoise(r, img)
	radius := max(1, (1+r.IntN(4))*min(w, h)/1000)
	for range 3 {
		boxBlur(img, radius)
	}
	return img
}

func randColor(r *rand.Rand) [3]float64 {
	return [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
}

// valueNoise adds three octaves of smooth lattice noise (cells of 1/8,
// 1/32 and 1/128 of the shorter side), gray with a slight random tint.
func valueNoise(r *rand.Rand, img *image.RGBA) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	amp := 10 + 25*r.Float64()
	tint := [3]float64{0.8 + 0.4*r.Float64(), 0.8 + 0.4*r.Float64(), 0.8 + 0.4*r.Float64()}
	field := make([]float64, w*h)
	for oct, div := range []int{8, 32, 128} {
		cell := max(float64(min(w, h))/float64(div), 2)
		gw, gh := int(float64(w)/cell)+2, int(float64(h)/cell)+2
		lattice := make([]float64, gw*gh)
		for i := range lattice {
			lattice[i] = 2*r.Float64() - 1
		}
		weight := math.Pow(0.6, float64(oct))
		ixs, txs := make([]int, w), make([]float64, w)
		for x := range w {
			fx := float64(x) / cell
			ixs[x] = int(fx)
			txs[x] = ramp(fx - float64(ixs[x]))
		}
		for y := range h {
			fy := float64(y) / cell
			iy := int(fy)
			ty := ramp(fy - float64(iy))
			row0, row1 := lattice[iy*gw:(iy+1)*gw], lattice[(iy+1)*gw:(iy+2)*gw]
			out := field[y*w : (y+1)*w]
			for x, ix := range ixs {
				tx := txs[x]
				top := row0[ix]*(1-tx) + row0[ix+1]*tx
				bot := row1[ix]*(1-tx) + row1[ix+1]*tx
				out[x] += weight * (top*(1-ty) + bot*ty)
			}
		}
	}
	for y := range h {
		for x := range w {
			o := img.PixOffset(x, y)
			for k := range 3 {
				img.Pix[o+k] = fixtures.Clamp8(float64(img.Pix[o+k]) + amp*tint[k]*field[y*w+x])
			}
		}
	}
}

// boxBlur blurs RGB with a (2·radius+1)² box, rows then columns, edges
// clamped. The column pass runs along rows too (a running sum per column),
// which keeps it in cache.
func boxBlur(img *image.RGBA, radius int) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	d := 2*radius + 1
	buf := make([]int, w)
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for k := range 3 {
			for i := range w {
				buf[i] = int(row[4*i+k])
			}
			sum := 0
			for i := -radius; i <= radius; i++ {
				sum += buf[min(max(i, 0), w-1)]
			}
			for i := range w {
				row[4*i+k] = uint8((sum + d/2) / d)
				sum += buf[min(i+radius+1, w-1)] - buf[max(i-radius, 0)]
			}
		}
	}
	src := slices.Clone(img.Pix)
	line := func(y int) []uint8 { y = min(max(y, 0), h-1); return src[y*img.Stride : y*img.Stride+4*w] }
	sums := make([]int, 4*w)
	for i := -radius; i <= radius; i++ {
		for j, v := range line(i) {
			sums[j] += int(v)
		}
	}
	for y := range h {
		out := img.Pix[y*img.Stride : y*img.Stride+4*w]
		add, sub := line(y+radius+1), line(y-radius)
		for j := range out {
			if j&3 != 3 {
				out[j] = uint8((sums[j] + d/2) / d)
			}
			sums[j] += int(add[j]) - int(sub[j])
		}
	}
}

// sensorNoise adds uniform noise in [-amp, amp] to every channel.
func sensorNoise(r *rand.Rand, img *image.RGBA, amp int) {
	for i := 0; i < len(img.Pix); i += 4 {
		for k := range 3 {
			img.Pix[i+k] = fixtures.Clamp8(float64(int(img.Pix[i+k]) + r.IntN(2*amp+1) - amp))
		}
	}
}

// TruthHeader is the header of truth.csv; see TruthRows.
var TruthHeader = []string{
	"scene", "scene_width", "scene_height", "quality", "face",
	"source", "source_path", "age", "gender", "race",
	"cx", "cy", "size", "angle",
	"left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "mouth_x", "mouth_y",
}

// TruthRows returns truth.csv's rows, one per pasted face: its scene (file
// name, size, JPEG quality), its index in the scene, the source crop (name,
// absolute path, and the age, gender and race of its name), the centre of
// the pasted crop in scene pixels (continuous coordinates), the pasted
// crop's width in pixels (size), its rotation in degrees (counterclockwise
// as seen), and where the template's eyes and mouth (TemplateLeftEye,
// TemplateRightEye, TemplateMouth: the eye on the crop's left, the other,
// the mouth) land in the scene. The template points are fractions of the
// crop, so a crop of another size has them scaled.
func TruthRows(scenes []Scene) [][]string {
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	var rows [][]string
	for _, sc := range scenes {
		for i, f := range sc.Faces {
			row := []string{
				sc.Name, strconv.Itoa(sc.Width), strconv.Itoa(sc.Height), strconv.Itoa(sc.Quality), strconv.Itoa(i),
				f.Name, f.Path, strconv.Itoa(f.Age), strconv.Itoa(f.Gender), strconv.Itoa(f.Race),
				f2(f.CX), f2(f.CY), strconv.Itoa(f.Size), f2(f.Angle),
			}
			for _, p := range [][2]float64{TemplateLeftEye, TemplateRightEye, TemplateMouth} {
				x, y := f.Map(p[0], p[1], TemplateSize)
				row = append(row, f2(x), f2(y))
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// WriteTruth writes truth.csv.
func WriteTruth(w io.Writer, scenes []Scene) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TruthHeader); err != nil {
		return err
	}
	if err := cw.WriteAll(TruthRows(scenes)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// RenderAll renders the scenes in parallel (one goroutine per core) and
// hands each JPEG to write, in any order. The bytes do not depend on the
// parallelism.
func RenderAll(scenes []Scene, crop func(string) (image.Image, error), write func(sc Scene, jpg []byte) error) error {
	errs := make([]error, len(scenes))
	parallel(len(scenes), func(i int) {
		jpg, err := Render(scenes[i], crop)
		if err == nil {
			err = write(scenes[i], jpg)
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", scenes[i].Name, err)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
