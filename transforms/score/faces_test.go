package score_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/score"
)

// paste draws a UTKFace crop, resized to size×size, into a photo at (x, y).
func paste(t *testing.T, dst *image.RGBA, path string, x, y, size int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := preprocess.Decode(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := preprocess.Quantize(nil, img.ResizeFloat32(size, size, nil))
	for j := 0; j < size; j++ {
		for i := 0; i < size; i++ {
			dst.Set(x+i, y+j, color.RGBA{q[3*(j*size+i)], q[3*(j*size+i)+1], q[3*(j*size+i)+2], 255})
		}
	}
}

func writeJPEG(t *testing.T, path string, m image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// backdrop is a photo-sized image of soft stripes, with no face in it.
func backdrop(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(90 + 40*math.Sin(float64(x)/37) + 20*math.Cos(float64(y)/23))
			m.Set(x, y, color.RGBA{v, v / 2, 255 - v, 255})
		}
	}
	return m
}

// renamedCopy copies the model folders under dir to a new folder, with
// suffix added to each model's id, and returns the copy and its ids joined
// as the predictions' model column joins them (age, then gender).
func renamedCopy(t *testing.T, dir, suffix string) (string, string) {
	t.Helper()
	dst := t.TempDir()
	var ids []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if e.Name() == model.CardFile {
			var card map[string]any
			if err := json.Unmarshal(data, &card); err != nil {
				return err
			}
			card["id"] = card["id"].(string) + suffix
			ids = append(ids, card["id"].(string))
			if data, err = json.Marshal(card); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(dir, p)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil || len(ids) != 2 {
		t.Fatalf("copying %s: %v (%d model ids)", dir, err, len(ids))
	}
	sort.Strings(ids) // the age folder's walks first anyway; age sorts before gender
	return dst, strings.Join(ids, "+")
}

// modelIDs is the ids of the model folders under dir, sorted.
func modelIDs(t *testing.T, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*", model.CardFile))
	var ids []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		var card struct{ ID string }
		if err == nil {
			err = json.Unmarshal(data, &card)
		}
		if err != nil || card.ID == "" {
			t.Fatalf("%s: id %q, %v", p, card.ID, err)
		}
		ids = append(ids, card.ID)
	}
	sort.Strings(ids)
	return ids
}

// With the default --faces=auto, a photo with two real faces gives two rows,
// each with its box where the face was pasted, keypoints and an aligned
// crop, scored by the face models; a UTKFace crop gives one row scored as it
// is by the crop models; a photo with no face is rejected as no_face; every
// input is accounted for.
func TestScoreFindsFacesInPhotos(t *testing.T) {
	crops := fixtures.DevImages(t, 3)
	models, _ := trainTiny(t)
	cropIDs := strings.Join(modelIDs(t, models), "+")
	faceModels, faceIDs := renamedCopy(t, models, "-faces")
	in, out := t.TempDir(), t.TempDir()
	scene := backdrop(900, 600)
	pasted := []faces.Box{{X: 100, Y: 150, W: 180, H: 180}, {X: 560, Y: 220, W: 240, H: 240}}
	paste(t, scene, crops[0], 100, 150, 180)
	paste(t, scene, crops[1], 560, 220, 240)
	writeJPEG(t, filepath.Join(in, "two.jpg"), scene)
	writeJPEG(t, filepath.Join(in, "none.jpg"), backdrop(640, 480))
	data, err := os.ReadFile(crops[2])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, filepath.Base(crops[2])), data, 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := scoreConfig(in, out, models)
	cfg.Faces, cfg.Annotate = "", 2 // the default, auto
	cfg.FaceModels = []string{faceModels}
	if model.ORTInstalled() {
		cfg.Backend = "onnx:cpu"
	}
	sum := runScore(t, cfg)
	rows := readPredictions(t, out, sum)
	rejects := ingesttest.ReadRejects(t, out)
	if sum.Inputs != 3 || sum.Scored != 2 || sum.Faces != 3 || sum.Rejected != 1 {
		t.Errorf("summary: %d inputs, %d scored, %d faces, %d rejected; want 3, 2, 3, 1", sum.Inputs, sum.Scored, sum.Faces, sum.Rejected)
	}
	if len(rejects) != 1 || rejects[0].File != "none.jpg" || rejects[0].Reason != schemas.ReasonNoFace {
		t.Errorf("rejects %+v, want none.jpg as no_face", rejects)
	}
	var two []schemas.Prediction
	for _, r := range rows {
		switch r.Filename {
		case "two.jpg":
			two = append(two, r)
		case filepath.Base(crops[2]):
			if r.Face != 0 || r.Aligned != faces.AlignedAsIs || r.FaceScore == nil || len(r.Keypoints) != 12 {
				t.Errorf("the UTKFace crop: face %d, aligned %q, score %v, %d keypoint values; want 0, as_is, a score, 12", r.Face, r.Aligned, r.FaceScore, len(r.Keypoints))
			}
			if r.Model != cropIDs {
				t.Errorf("the UTKFace crop was scored by %s, want the crop models %s", r.Model, cropIDs)
			}
		default:
			t.Errorf("row for %s", r.Filename)
		}
	}
	if len(two) != 2 {
		t.Fatalf("%d rows for the photo with two faces", len(two))
	}
	sort.Slice(two, func(i, j int) bool { return two[i].Face < two[j].Face })
	seen := map[int]bool{}
	for i, r := range two {
		if int(r.Face) != i || r.Aligned != faces.AlignedDetected || r.FaceScore == nil || *r.FaceScore < 0.6 || len(r.Keypoints) != 12 {
			t.Errorf("face %d: %+v", i, r)
		}
		if r.Model != faceIDs {
			t.Errorf("face %d was scored by %s, want the face models %s", i, r.Model, faceIDs)
		}
		// The box's centre lies in the middle of the pasted crop (the face
		// fills its centre), and its size is a fraction of the crop's.
		cx, cy := float64(r.BoxX+r.BoxWidth/2), float64(r.BoxY+r.BoxHeight/2)
		for j, p := range pasted {
			if math.Abs(cx-(p.X+p.W/2)) < 0.2*p.W && math.Abs(cy-(p.Y+p.H/2)) < 0.2*p.H &&
				float64(r.BoxWidth) > 0.4*p.W && float64(r.BoxWidth) < 1.1*p.W {
				seen[j] = true
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("boxes %+v and %+v do not match the pasted faces %+v", two[0], two[1], pasted)
	}
	annotated, _ := filepath.Glob(filepath.Join(out, "annotated", "*.jpg"))
	if len(annotated) != 2 {
		t.Errorf("%d annotated photos, want 2", len(annotated))
	}
}

// With --faces=whole every image is scored as before face detection: its
// predictions are the models' outputs on preprocess.ModelInput of the file
// (ingest's preprocessing and the reader's area resize), one row per image
// with the whole image as its box.
func TestWholeScoresAsBefore(t *testing.T) {
	models, _ := trainTiny(t)
	in, _ := ingesttest.Generate(t, fixtures.Options{Good: 12, Seed: 5})
	out := t.TempDir()
	cfg := scoreConfig(in, out, models)
	cfg.Faces = faces.ModeWhole
	sum := runScore(t, cfg)
	rows := readPredictions(t, out, sum)
	if len(rows) == 0 || sum.Faces != sum.Scored || sum.DetectorRuns != 0 {
		t.Fatalf("%d rows, summary %+v", len(rows), sum)
	}
	b, _, err := model.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	scorers, err := score.OpenScorers(context.Background(), score.Config{Models: []string{models}, Batch: 8}, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scorers {
		defer sc.Close()
	}
	checked := 0
	for _, r := range rows[:min(8, len(rows))] {
		file, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := preprocess.Decode(file, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Face != 0 || r.Aligned != faces.AlignedWhole || r.FaceScore != nil || len(r.Keypoints) != 0 ||
			r.BoxX != 0 || r.BoxY != 0 || int(r.BoxWidth) != img.Width || int(r.BoxHeight) != img.Height {
			t.Errorf("%s: face %d, aligned %q, score %v, keypoints %v, box %v %v %v %v", r.Filename, r.Face, r.Aligned, r.FaceScore, r.Keypoints, r.BoxX, r.BoxY, r.BoxWidth, r.BoxHeight)
		}
		for _, sc := range scorers {
			stored, size := sc.Input()
			x, _, err := preprocess.ModelInput(file, stored, size, nil)
			if err != nil {
				t.Fatal(err)
			}
			batch := make([]float32, sc.Batch()*len(x))
			copy(batch, x)
			want, err := sc.Predict(batch)
			if err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(want[0].Age) && math.Abs(*r.PredictedAge-want[0].Age) > 1e-4 {
				t.Errorf("%s: predicted age %v, the model on ModelInput gives %v", r.Filename, *r.PredictedAge, want[0].Age)
			}
			if !math.IsNaN(want[0].PFemale) && math.Abs(*r.PFemale-want[0].PFemale) > 1e-5 {
				t.Errorf("%s: p_female %v, the model on ModelInput gives %v", r.Filename, *r.PFemale, want[0].PFemale)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// OpenDetector takes the run's thresholds: the defaults when the Config
// leaves them 0, no second chance when FaceFallback is negative.
func TestOpenDetectorThresholds(t *testing.T) {
	b, _, err := model.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cfg                 score.Config
		threshold, fallback float64
	}{
		{score.Config{}, 0.6, 0.5},
		{score.Config{FaceThreshold: 0.7, FaceFallback: 0.4}, 0.7, 0.4},
		{score.Config{FaceFallback: -1}, 0.6, 0},
	} {
		d, err := score.OpenDetector(c.cfg, b)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		if d.Threshold != c.threshold || d.FallbackThreshold != c.fallback {
			t.Errorf("%+v: threshold %v, fallback %v; want %v, %v", c.cfg, d.Threshold, d.FallbackThreshold, c.threshold, c.fallback)
		}
	}
}
