package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/schemas"
)

func ptr[T any](v T) *T { return &v }

// det is a detection centred at (x, y) with sides w and h.
func det(x, y, w, h float64) Detection {
	return Detection{Box: Box{x - w/2, y - h/2, w, h}, Age: math.NaN(), PFemale: math.NaN()}
}

func TestMatch(t *testing.T) {
	face := func(x, y, size float64) TruthFace { return TruthFace{CX: x, CY: y, Size: size} }
	tests := []struct {
		name  string
		truth []TruthFace
		dets  []Detection
		want  []Pair
	}{
		{"none", nil, nil, nil},
		{"no detection", []TruthFace{face(100, 100, 100)}, nil, nil},
		{"no truth", nil, []Detection{det(100, 100, 100, 100)}, nil},
		{"exact", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 100, 100)}, []Pair{{0, 0}}},
		{"offset under half the size", []TruthFace{face(100, 100, 100)}, []Detection{det(149, 100, 100, 100)}, []Pair{{0, 0}}},
		{"offset at half the size", []TruthFace{face(100, 100, 100)}, []Detection{det(150, 100, 100, 100)}, nil},
		{"diagonal offset over half", []TruthFace{face(100, 100, 100)}, []Detection{det(136, 136, 100, 100)}, nil},
		{"box half the size", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 50, 50)}, []Pair{{0, 0}}},
		{"box under half the size", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 49, 50)}, nil},
		{"box twice the size", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 200, 200)}, []Pair{{0, 0}}},
		{"box over twice the size", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 201, 200)}, nil},
		// sqrt(50 × 200) = 100: the size is the geometric mean of the sides.
		{"tall thin box", []TruthFace{face(100, 100, 100)}, []Detection{det(100, 100, 50, 200)}, []Pair{{0, 0}}},
		{
			"two faces, detections in the other order",
			[]TruthFace{face(100, 100, 80), face(400, 100, 80)},
			[]Detection{det(405, 98, 70, 90), det(95, 104, 70, 90)},
			[]Pair{{1, 0}, {0, 1}},
		},
		{
			"duplicate detections: the closer matches, the other is a false positive",
			[]TruthFace{face(100, 100, 100)},
			[]Detection{det(120, 100, 100, 100), det(105, 100, 100, 100)},
			[]Pair{{0, 1}},
		},
		{
			// Face 0 is the closest for both detections; greedy gives it
			// detection 1 (distance 5) and face 1 gets detection 0.
			"greedy by distance",
			[]TruthFace{face(100, 100, 100), face(160, 100, 100)},
			[]Detection{det(125, 100, 100, 100), det(105, 100, 100, 100)},
			[]Pair{{0, 1}, {1, 0}},
		},
		{
			"one detection between two faces goes to the nearer",
			[]TruthFace{face(100, 100, 100), face(200, 100, 100)},
			[]Detection{det(160, 100, 100, 100)},
			[]Pair{{1, 0}},
		},
		{
			"a small face next to a big one: sizes decide",
			[]TruthFace{face(100, 100, 300), face(150, 100, 40)},
			[]Detection{det(145, 100, 40, 40), det(110, 100, 280, 300)},
			[]Pair{{1, 0}, {0, 1}},
		},
		{
			"ties: lower truth index first",
			[]TruthFace{face(100, 100, 100), face(120, 100, 100)},
			[]Detection{det(110, 100, 100, 100)},
			[]Pair{{0, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := match(tt.truth, tt.dets)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

const truthCSV = `scene,scene_width,scene_height,quality,face,source,source_path,age,gender,race,cx,cy,size,angle,left_eye_x,left_eye_y,right_eye_x,right_eye_y,mouth_x,mouth_y
scene-00000.jpg,800,600,90,0,30_0_0_a.jpg,/d/30_0_0_a.jpg,30,0,0,200.00,200.00,100,0.00,0,0,0,0,0,0
scene-00000.jpg,800,600,90,1,50_1_1_b.jpg,/d/50_1_1_b.jpg,50,1,1,500.00,300.00,60,10.00,0,0,0,0,0,0
scene-00001.jpg,800,600,90,0,20_1_2_c.jpg,/d/20_1_2_c.jpg,20,1,2,400.00,300.00,300,-5.00,0,0,0,0,0,0
scene-00002.jpg,800,600,90,0,30_0_0_a.jpg,/d/30_0_0_a.jpg,30,0,0,100.00,100.00,50,0.00,0,0,0,0,0,0
`

func TestReadTruth(t *testing.T) {
	tr, err := readTruth(strings.NewReader(truthCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Faces) != 4 || !reflect.DeepEqual(tr.Scenes, []string{"scene-00000.jpg", "scene-00001.jpg", "scene-00002.jpg"}) {
		t.Fatalf("%d faces, scenes %v", len(tr.Faces), tr.Scenes)
	}
	want := TruthFace{"scene-00000.jpg", 1, "50_1_1_b.jpg", "/d/50_1_1_b.jpg", 50, 1, 1, 500, 300, 60}
	if tr.Faces[1] != want {
		t.Errorf("face 1 = %+v, want %+v", tr.Faces[1], want)
	}
	for _, bad := range []string{"", "scene,face\n", strings.Replace(truthCSV, "200.00,200.00", "x,200", 1)} {
		if _, err := readTruth(strings.NewReader(bad)); err == nil {
			t.Errorf("readTruth(%.30q) did not fail", bad)
		}
	}
}

func TestAddFaceAPI(t *testing.T) {
	jsonl := `{"file":"scene-00000.jpg","path":"/s/scene-00000.jpg","width":800,"height":600,"face":0,"box_x":150,"box_y":150,"box_width":100,"box_height":100,"score":0.9,"age":33,"gender":"male","gender_probability":0.8}
{"file":"scene-00000.jpg","path":"/s/scene-00000.jpg","width":800,"height":600,"face":1,"box_x":600,"box_y":10,"box_width":50,"box_height":50,"score":0.6,"age":40,"gender":"female","gender_probability":0.7}

{"file":"scene-00001.jpg","path":"/s/scene-00001.jpg","width":800,"height":600,"faces":0}
{"file":"scene-00003.jpg","path":"/s/scene-00003.jpg","error":"Input file is missing"}
`
	r := Run{Detect: map[string][]Detection{}}
	if err := addFaceAPI(&r, strings.NewReader(jsonl)); err != nil {
		t.Fatal(err)
	}
	if len(r.Detect) != 2 || len(r.Detect["scene-00000.jpg"]) != 2 || r.Detect["scene-00001.jpg"] != nil {
		t.Fatalf("detections %v", r.Detect)
	}
	if _, ok := r.Detect["scene-00001.jpg"]; !ok {
		t.Error("an image without a face is not recorded as seen")
	}
	d := r.Detect["scene-00000.jpg"][1]
	if d.Box != (Box{600, 10, 50, 50}) || d.Age != 40 || math.Abs(d.PFemale-0.7) > 1e-12 {
		t.Errorf("second detection %+v", d)
	}
	if p := r.Detect["scene-00000.jpg"][0].PFemale; math.Abs(p-0.2) > 1e-12 {
		t.Errorf("p_female of a male at 0.8 = %v, want 0.2", p)
	}
	for _, bad := range []string{
		`{"file":"a","faces":2}`,
		`{"file":"a","age":3,"gender":"male","gender_probability":0.9}`,
		`{"file":"a","box_x":1,"box_y":1,"box_width":1,"box_height":1,"age":3,"gender":"x","gender_probability":0.9}`,
	} {
		r := Run{Detect: map[string][]Detection{}}
		if err := addFaceAPI(&r, strings.NewReader(bad)); err == nil {
			t.Errorf("addFaceAPI(%s) did not fail", bad)
		}
	}
	// agegender.js's lines, for the crops.
	c := Run{Crops: map[string]Pred{}}
	err := addFaceAPI(&c, strings.NewReader(`{"file":"30_0_0_a.jpg","age":31,"gender":"female","gender_probability":0.6}
{"file":"bad.jpg","error":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Crops) != 1 || c.Crops["30_0_0_a.jpg"].Age != 31 || math.Abs(c.Crops["30_0_0_a.jpg"].PFemale-0.6) > 1e-12 {
		t.Errorf("crops %v", c.Crops)
	}
}

// writeParquet writes rows to path.
func writeParquet[T any](t *testing.T, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// predictionRow is a row of predictions/*.parquet as pipelines/score
// --faces=detect writes it (the columns of schemas.Prediction read here).
type predictionRow struct {
	Filename        string    `parquet:"filename"`
	Path            string    `parquet:"path"`
	Face            int32     `parquet:"face"`
	BoxX            float32   `parquet:"box_x"`
	BoxY            float32   `parquet:"box_y"`
	BoxWidth        float32   `parquet:"box_width"`
	BoxHeight       float32   `parquet:"box_height"`
	FaceScore       *float32  `parquet:"face_score"`
	Keypoints       []float32 `parquet:"keypoints,list"`
	PredictedAge    *float64  `parquet:"predicted_age"`
	PFemale         *float64  `parquet:"p_female"`
	PredictedGender *int32    `parquet:"predicted_gender"`
}

func TestReadOurs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"inputs": 4, "scored": 2, "rejected": 2}`), 0o644)
	writeParquet(t, filepath.Join(dir, "predictions", "part-00000-of-00001.parquet"), []predictionRow{
		{Filename: "scene-00000.jpg", Face: 0, BoxX: 160, BoxY: 150, BoxWidth: 90, BoxHeight: 100, FaceScore: ptr[float32](0.9),
			Keypoints: make([]float32, 12), PredictedAge: ptr(28.0), PFemale: ptr(0.1), PredictedGender: ptr[int32](0)},
		{Filename: "scene-00000.jpg", Face: 1, BoxX: 700, BoxY: 500, BoxWidth: 40, BoxHeight: 40, PredictedAge: ptr(60.0), PFemale: ptr(0.5)},
		{Filename: "scene-00001.jpg", Face: 0, BoxX: 250, BoxY: 150, BoxWidth: 300, BoxHeight: 300},
	})
	writeParquet(t, filepath.Join(dir, "rejects.parquet"), []schemas.Reject{
		{File: "scene-00002.jpg", Reason: ReasonNoFace},
		{File: "scene-00009.jpg", Reason: "decode_error"},
	})
	r, err := readOurs(dir, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != 4 || r.Failed != 1 || r.Rate() != 2 {
		t.Errorf("images %d failed %d rate %v, want 4, 1, 2", r.Images, r.Failed, r.Rate())
	}
	if len(r.Detect["scene-00000.jpg"]) != 2 || len(r.Detect["scene-00001.jpg"]) != 1 {
		t.Errorf("detections %v", r.Detect)
	}
	if d, ok := r.Detect["scene-00002.jpg"]; !ok || d != nil {
		t.Errorf("a no_face reject is not an image seen without a face: %v, %v", d, ok)
	}
	d := r.Detect["scene-00001.jpg"][0]
	if !math.IsNaN(d.Age) || !math.IsNaN(d.PFemale) {
		t.Errorf("null predictions read as %v, %v, want NaN", d.Age, d.PFemale)
	}

	tr, err := readTruth(strings.NewReader(truthCSV))
	if err != nil {
		t.Fatal(err)
	}
	res := score(tr, r)
	// Face 0 of scene 0 matched (centre (205, 200)); face 1 (at 500,300)
	// not: the box at (720, 520) is a false positive; scene 1's face
	// matched; scene 2 had no face found.
	if want := []bool{true, false, true, false}; !reflect.DeepEqual(res.Found, want) {
		t.Errorf("found %v, want %v", res.Found, want)
	}
	if res.FP != 1 || res.Missing != 0 || res.Detected != 3 {
		t.Errorf("FP %d missing %d detected %d, want 1, 0, 3", res.FP, res.Missing, res.Detected)
	}
	if res.Metrics.Count != 2 || res.Metrics.AgeMAE == nil || math.Abs(*res.Metrics.AgeMAE-2) > 1e-9 {
		t.Errorf("metrics %v, want 2 faces with age MAE 2 (28 for 30; none for scene 1)", res.Metrics)
	}

	// An output of a pipelines/score without --faces: no box columns.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "summary.json"), []byte(`{"inputs": 1}`), 0o644)
	type oldPrediction struct { // schemas.Prediction before --faces
		Filename     string   `parquet:"filename"`
		Path         string   `parquet:"path"`
		PredictedAge *float64 `parquet:"predicted_age"`
		PFemale      *float64 `parquet:"p_female"`
	}
	writeParquet(t, filepath.Join(old, "predictions", "part-00000-of-00001.parquet"), []oldPrediction{
		{Filename: "30_0_0_a.jpg", PredictedAge: ptr(35.0), PFemale: ptr(0.25)},
	})
	if _, err := readOurs(old, 1, false); err == nil || !strings.Contains(err.Error(), "no box_x column") {
		t.Errorf("reading detections from an output without boxes: error %v", err)
	}
	// It is a crops run all the same.
	c, err := readOurs(old, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Crops["30_0_0_a.jpg"] != (Pred{35, 0.25}) {
		t.Errorf("crops %v", c.Crops)
	}
	cres := score(tr, c)
	if want := []bool{true, false, false, true}; !reflect.DeepEqual(cres.Found, want) || cres.FP != -1 || cres.Missing != 2 {
		t.Errorf("crops: found %v (want %v), FP %d, missing %d", cres.Found, want, cres.FP, cres.Missing)
	}
}

func TestScoreMissingScene(t *testing.T) {
	tr, err := readTruth(strings.NewReader(truthCSV))
	if err != nil {
		t.Fatal(err)
	}
	r := Run{Name: "x", Detect: map[string][]Detection{
		"scene-00000.jpg": {det(200, 200, 100, 100), det(500, 300, 60, 60)},
		"scene-00002.jpg": {det(600, 500, 50, 50)},
	}}
	res := score(tr, r)
	if res.FoundCount() != 2 || res.FP != 1 || res.Missing != 1 {
		t.Errorf("found %d FP %d missing %d, want 2, 1, 1", res.FoundCount(), res.FP, res.Missing)
	}
	// Recall by size: 50 (<64) missed, 60 (<64) found, 100 found, 300 missed.
	want := []float64{0.5, math.NaN(), 1, math.NaN(), 0}
	for i := range want {
		if res.BySize[i] != want[i] && !(math.IsNaN(res.BySize[i]) && math.IsNaN(want[i])) {
			t.Errorf("recall by size %v, want %v", res.BySize, want)
			break
		}
	}
}

func TestWriteTable(t *testing.T) {
	tr, err := readTruth(strings.NewReader(truthCSV))
	if err != nil {
		t.Fatal(err)
	}
	a := det(200, 200, 100, 100)
	a.Age, a.PFemale = 35, 0.2
	runs := []Run{
		{Name: "face-api.js ssd", Detect: map[string][]Detection{"scene-00000.jpg": {a}, "scene-00001.jpg": nil, "scene-00002.jpg": nil}, Images: 3, Seconds: 1.5},
		{Name: "ours", Ours: true, Detect: map[string][]Detection{"scene-00000.jpg": {a, det(700, 50, 40, 40)}, "scene-00001.jpg": nil, "scene-00002.jpg": nil}, Images: 3, Seconds: 0.5},
		{Name: "ours, source crops", Crops: map[string]Pred{"30_0_0_a.jpg": {31, 0.1}, "50_1_1_b.jpg": {45, 0.9}, "20_1_2_c.jpg": {25, 0.6}}, Images: 3, Seconds: 0.1},
	}
	var results []Result
	for _, r := range runs {
		results = append(results, score(tr, r))
	}
	var buf bytes.Buffer
	writeTable(&buf, tr, results)
	// Compare with runs of spaces collapsed.
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	out := squash(buf.String())
	for _, want := range []string{
		"3 scenes, 4 faces pasted.",
		"face-api.js ssd                         1/4  25.0%      0       0.0     5.00    100.0%      -      2.00",
		"ours                                    1/4  25.0%      1      33.3     5.00    100.0%      -      6.00",
		"ours, source crops                    4/4 100.0%      -         -     3.00    100.0%  1.000     30.00",
		"on the 1 faces that every pipeline found:",
		// By size: that face is 100 px wide (96-144); ours and face-api.js
		// said 35, the crop run 31, for a true 30.
		"<64 64-96 96-144 144-216 >=216 faces 0 0 1 0 0 face-api.js ssd - - 5.00 - - ours - - 5.00 - - ours, source crops - - 1.00 - -",
		"images/s ours / face-api.js ssd: 3.00x",
	} {
		if !strings.Contains(out, squash(want)) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}
