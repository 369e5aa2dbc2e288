package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/schemas"
)

func ptr[T any](v T) *T { return &v }

func TestAddTheirs(t *testing.T) {
	tests := []struct {
		name    string
		jsonl   string
		want    map[string]Pred
		wantErr string
	}{
		{
			name: "predictions, a failure and a blank line",
			jsonl: `{"file":"25_1_0_a.jpg","path":"/x/25_1_0_a.jpg","age":27.5,"gender":"female","gender_probability":0.8}

{"file":"40_0_1_b.jpg","age":38,"gender":"male","gender_probability":0.9}
{"file":"bad.jpg","path":"/x/bad.jpg","error":"Input buffer contains unsupported image format"}
`,
			want: map[string]Pred{"25_1_0_a.jpg": {27.5, 0.8}, "40_0_1_b.jpg": {38, 1 - 0.9}},
		},
		{name: "empty", jsonl: "", want: map[string]Pred{}},
		{name: "no probability", jsonl: `{"file":"a","age":3,"gender":"male"}`, wantErr: "no age or gender_probability"},
		{name: "no age", jsonl: `{"file":"a","gender":"male","gender_probability":0.9}`, wantErr: "no age or gender_probability"},
		{name: "bad gender", jsonl: `{"file":"a","age":3,"gender":"m","gender_probability":0.9}`, wantErr: `gender "m"`},
		{
			name: "duplicate",
			jsonl: `{"file":"a","age":3,"gender":"male","gender_probability":0.9}
{"file":"a","age":4,"gender":"male","gender_probability":0.9}`,
			wantErr: "line 2: a second prediction for a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]Pred{}
			err := addTheirs(got, strings.NewReader(tt.jsonl))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for f, w := range tt.want {
				if g, ok := got[f]; !ok || math.Abs(g.Age-w.Age) > 1e-12 || math.Abs(g.PFemale-w.PFemale) > 1e-12 {
					t.Errorf("%s: got %+v, want %+v", f, g, w)
				}
			}
		})
	}
}

func TestAddOurs(t *testing.T) {
	rows := []schemas.Prediction{
		{Filename: "a.jpg", PredictedAge: ptr(31.5), PFemale: ptr(0.25)},
		{Filename: "b.jpg"}, // no model for either task
	}
	got := map[string]Pred{}
	if err := addOurs(got, rows); err != nil {
		t.Fatal(err)
	}
	if a := got["a.jpg"]; a.Age != 31.5 || a.PFemale != 0.25 {
		t.Errorf("a.jpg: got %+v", a)
	}
	if b := got["b.jpg"]; !math.IsNaN(b.Age) || !math.IsNaN(b.PFemale) {
		t.Errorf("b.jpg: got %+v, want NaNs", b)
	}
	if err := addOurs(got, rows[:1]); err == nil {
		t.Error("a second row for a.jpg: no error")
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name           string
		ours, theirs   map[string]Pred
		wantFiles      []string
		wantOnlyOurs   int
		wantOnlyTheirs int
		wantUnlabelled int
		wantErr        bool
	}{
		{
			name:      "same images",
			ours:      map[string]Pred{"30_1_0_b.jpg": {31, 0.9}, "5_0_2_a.jpg": {6, 0.2}},
			theirs:    map[string]Pred{"5_0_2_a.jpg": {4, 0.4}, "30_1_0_b.jpg": {28, 0.7}},
			wantFiles: []string{"30_1_0_b.jpg", "5_0_2_a.jpg"},
		},
		{
			name:           "missing on either side, and a name without labels",
			ours:           map[string]Pred{"30_1_0_b.jpg": {31, 0.9}, "40_0_0_c.jpg": {41, 0.1}, "photo.jpg": {20, 0.5}},
			theirs:         map[string]Pred{"30_1_0_b.jpg": {28, 0.7}, "70_1_3_d.jpg": {65, 0.6}, "photo.jpg": {22, 0.5}},
			wantFiles:      []string{"30_1_0_b.jpg"},
			wantOnlyOurs:   1,
			wantOnlyTheirs: 1,
			wantUnlabelled: 1,
		},
		{
			name:    "nothing in common",
			ours:    map[string]Pred{"30_1_0_b.jpg": {31, 0.9}},
			theirs:  map[string]Pred{"40_0_0_c.jpg": {41, 0.1}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := join(tt.ours, tt.theirs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var files []string
			for i, o := range j.Ours {
				th := j.Theirs[i]
				files = append(files, o.File)
				if th.File != o.File || th.Age != o.Age || th.Gender != o.Gender || th.Race != o.Race {
					t.Errorf("row %d: ours %+v and theirs %+v differ in file or truth", i, o, th)
				}
				if o.PredAge != tt.ours[o.File].Age || th.PredAge != tt.theirs[o.File].Age ||
					o.PFemale != tt.ours[o.File].PFemale || th.PFemale != tt.theirs[o.File].PFemale {
					t.Errorf("row %d (%s): predictions swapped or lost: ours %+v, theirs %+v", i, o.File, o, th)
				}
			}
			if !reflect.DeepEqual(files, tt.wantFiles) {
				t.Errorf("files %v, want %v", files, tt.wantFiles)
			}
			if j.OnlyOurs != tt.wantOnlyOurs || j.OnlyTheirs != tt.wantOnlyTheirs || j.Unlabelled != tt.wantUnlabelled {
				t.Errorf("only ours %d, only theirs %d, unlabelled %d; want %d, %d, %d",
					j.OnlyOurs, j.OnlyTheirs, j.Unlabelled, tt.wantOnlyOurs, tt.wantOnlyTheirs, tt.wantUnlabelled)
			}
		})
	}
	// The truth comes from the name.
	j, err := join(map[string]Pred{"30_1_4_b.jpg": {31, 0.9}}, map[string]Pred{"30_1_4_b.jpg": {28, 0.7}})
	if err != nil {
		t.Fatal(err)
	}
	if o := j.Ours[0]; o.Age != 30 || o.Gender != 1 || o.Race != 4 {
		t.Errorf("truth of 30_1_4_b.jpg: %+v", o)
	}
}

func TestSplitPaths(t *testing.T) {
	rows := []schemas.LabelRow{
		{Path: "/d/a.jpg", Split: ptr("test"), Status: "written"},
		{Path: "/d/b.jpg", Split: ptr("train"), Status: "written"},
		{Path: "/d/c.jpg", Status: "duplicate"},
		{Path: "/d/d.jpg", Split: ptr("test"), Status: "rejected"},
		{Path: "/d/e.jpg", Split: ptr("test"), Status: "written"},
	}
	for _, tt := range []struct {
		split string
		want  []string
	}{
		{"test", []string{"/d/a.jpg", "/d/e.jpg"}},
		{"train", []string{"/d/b.jpg"}},
		{"valid", nil},
	} {
		if got := splitPaths(rows, tt.split); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitPaths(%s) = %v, want %v", tt.split, got, tt.want)
		}
	}
}

// TestCompare runs the whole comparison on outputs written to a temporary
// folder: our Parquet predictions and summary, face-api's JSONL parts and
// summary.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "scored"), filepath.Join(dir, "faceapi")
	for _, d := range []string{filepath.Join(ours, "predictions"), theirs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rows := []schemas.Prediction{
		{Filename: "25_1_0_a.jpg", PredictedAge: ptr(27.0), PFemale: ptr(0.9)}, // |2|, right
		{Filename: "35_0_0_b.jpg", PredictedAge: ptr(30.0), PFemale: ptr(0.6)}, // |5|, wrong
		{Filename: "38_1_1_c.jpg", PredictedAge: ptr(39.0), PFemale: ptr(0.7)}, // |1|, right
	}
	if err := parquet.WriteFile(filepath.Join(ours, "predictions", "part-00000.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(ours, "summary.json"), `{"inputs": 4, "scored": 3, "rejected": 1}`)
	write(filepath.Join(theirs, "summary.json"), `{"images": 4, "failed": 1, "wall_s": 0.5}`)
	write(filepath.Join(theirs, "part-0.jsonl"), `{"file":"25_1_0_a.jpg","age":21,"gender":"female","gender_probability":0.8}
{"file":"38_1_1_c.jpg","age":38,"gender":"male","gender_probability":0.6}
`)
	write(filepath.Join(theirs, "part-1.jsonl"), `{"file":"35_0_0_b.jpg","age":35,"gender":"male","gender_probability":0.55}
`)
	var buf bytes.Buffer
	if err := compare(&buf, ours, 1500*time.Millisecond, theirs); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Ours: MAE (2+5+1)/3 = 2.67, accuracy 2/3, AUC 1 (females 0.9 and 0.7
	// above the male's 0.6). face-api: MAE (4+0+0)/3 = 1.33, accuracy 2/3
	// (the 38-year-old woman at p_female 0.4), AUC 0.5 (0.4 < 0.45 < 0.8),
	// and 0 in 30-39 (0.4 < 0.45).
	for _, want := range []string{
		"3 labelled images predicted by both. Inputs: ours 4 (1 not predicted), face-api 4 (1 not predicted);\n" +
			"predicted by ours only 0, by face-api only 0; predicted by both without labels in the name 0.",
		"age band      n   MAE ours  MAE face-api   acc ours  acc face-api   AUC ours  AUC face-api",
		"all           3       2.67          1.33      66.7%         66.7%      1.000         0.500",
		"20-29         1       2.00          4.00     100.0%        100.0%          -             -",
		"30-39         2       3.00          0.00      50.0%         50.0%      1.000         0.000",
		"images/s: ours 2.7 (4 images in 1.50 s), face-api 8.0 (4 images in 0.50 s); ours/face-api 0.33x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0-9 ") {
		t.Errorf("output has a row for an empty band:\n%s", out)
	}
}
