package faceapiout

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPFemale(t *testing.T) {
	tests := []struct {
		gender  string
		prob    float64
		want    float64
		wantErr bool
	}{
		{"female", 0.9, 0.9, false},
		{"female", 0.5, 0.5, false}, // face-api says female when P(male) = 0.5
		{"male", 0.75, 0.25, false},
		{"male", 0.8, 0.2, false},
		{"male", 1, 0, false},
		{"female", 1.5, 0, true},
		{"male", -0.1, 0, true},
		{"male", math.NaN(), 0, true},
		{"unknown", 0.9, 0, true},
		{"x", 0.9, 0, true},
		{"", 0.9, 0, true},
	}
	for _, tt := range tests {
		got, err := PFemale(tt.gender, tt.prob)
		if (err != nil) != tt.wantErr {
			t.Errorf("PFemale(%q, %v) error = %v, want error %v", tt.gender, tt.prob, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("PFemale(%q, %v) = %v, want %v", tt.gender, tt.prob, got, tt.want)
		}
	}
}

func TestPrediction(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	nan := math.NaN()
	tests := []struct {
		name       string
		line       Line
		age, pf    float64
		wantErrStr string
	}{
		{"both", Line{Age: f(31), Gender: "male", GenderProbability: f(0.8)}, 31, 0.2, ""},
		{"no age", Line{Gender: "female", GenderProbability: f(0.6)}, nan, 0.6, ""},
		{"no gender", Line{Age: f(3)}, 3, nan, ""},
		{"neither", Line{}, nan, nan, ""},
		{"bad gender", Line{Age: f(3), Gender: "m", GenderProbability: f(0.9)}, 0, 0, `gender "m"`},
	}
	same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12 }
	for _, tt := range tests {
		age, pf, err := tt.line.Prediction()
		if tt.wantErrStr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrStr) {
				t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.wantErrStr)
			}
			continue
		}
		if err != nil || !same(age, tt.age) || !same(pf, tt.pf) {
			t.Errorf("%s: Prediction() = %v, %v, %v, want %v, %v", tt.name, age, pf, err, tt.age, tt.pf)
		}
	}
}

func TestReadLines(t *testing.T) {
	tests := []struct {
		name    string
		jsonl   string
		want    []string // "n file" of each line fn gets
		wantErr string
	}{
		{
			name: "agegender.js's lines, a failure and a blank line",
			jsonl: `{"file":"25_1_0_a.jpg","path":"/x/25_1_0_a.jpg","age":27.5,"gender":"female","gender_probability":0.8}

{"file":"bad.jpg","path":"/x/bad.jpg","error":"Input buffer contains unsupported image format"}
`,
			want: []string{"1 25_1_0_a.jpg", "3 bad.jpg"},
		},
		{
			name: "wild.js's lines",
			jsonl: `{"file":"scene-00000.jpg","width":800,"height":600,"face":0,"box_x":150,"box_y":150,"box_width":100,"box_height":100,"score":0.9,"age":33,"gender":"male","gender_probability":0.8}
{"file":"scene-00001.jpg","width":800,"height":600,"faces":0}`,
			want: []string{"1 scene-00000.jpg", "2 scene-00001.jpg"},
		},
		{name: "empty", jsonl: ""},
		{name: "not JSON", jsonl: "{\"file\":\n", wantErr: "line 1"},
		{name: "not JSON later", jsonl: "{\"file\":\"a\"}\nnot json", wantErr: "line 2"},
		{name: "no file", jsonl: `{"age":3,"gender":"male","gender_probability":0.9}`, wantErr: "line 1: no file"},
		{name: "fn's error", jsonl: `{"file":"stop"}`, wantErr: "stop at 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := ReadLines(strings.NewReader(tt.jsonl), func(n int, l Line) error {
				if l.File == "stop" {
					return &stopError{n}
				}
				got = append(got, fmt.Sprintf("%d %s", n, l.File))
				return nil
			})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Error(err)
			case !reflect.DeepEqual(got, tt.want):
				t.Errorf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

type stopError struct{ n int }

func (e *stopError) Error() string { return fmt.Sprintf("stop at %d", e.n) }

// TestReadDir reads a whole output folder: summary.json and two parts.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(SummaryFile, `{"images": 4, "faces": 3, "failed": 1, "wall_s": 0.5, "detector": "tiny", "landmarks": "full", "procs": 2}`)
	write("part-0.jsonl", `{"file":"a.jpg","age":21,"gender":"female","gender_probability":0.8}
`)
	write("part-1.jsonl", `{"file":"b.jpg","error":"x"}
{"file":"c.jpg","age":38,"gender":"male","gender_probability":0.6}
`)
	write("other.jsonl", `not read`)
	sum, err := ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Images: 4, Failed: 1, WallSeconds: 0.5, Detector: "tiny", Landmarks: "full"}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	var files []string
	if err := ReadParts(dir, func(_ int, l Line) error {
		files = append(files, l.File)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.jpg", "b.jpg", "c.jpg"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}

	write("part-2.jsonl", `{"age":1}`)
	err = ReadParts(dir, func(int, Line) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "part-2.jsonl: line 1: no file") {
		t.Errorf("error = %v, want one naming part-2.jsonl", err)
	}
	write(SummaryFile, `{"images":`)
	if _, err := ReadSummary(dir); err == nil || !strings.Contains(err.Error(), SummaryFile) {
		t.Errorf("ReadSummary of bad JSON: error = %v", err)
	}
	if _, err := ReadSummary(filepath.Join(dir, "missing")); err == nil {
		t.Error("ReadSummary of a missing folder did not fail")
	}
}
