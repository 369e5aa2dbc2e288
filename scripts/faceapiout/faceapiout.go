// Package faceapiout reads the output folders of scripts/faceapi's
// agegender.js and wild.js: summary.json, the run's counts and wall time,
// and part-*.jsonl, one JSON object a line. agegender.js writes one line per
// image (the whole image is the face); wild.js one per detected face with
// its box, or one with faces=0 for an image without a face. Either writes a
// line with error for an image that failed.
//
// The benchmark commands scripts/comparefaces and scripts/comparewild use
// it; it needs the standard library only.
package faceapiout

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// SummaryFile is the name of the run summary in an output folder.
const SummaryFile = "summary.json"

// PartsGlob matches the JSONL parts in an output folder, one per process.
const PartsGlob = "part-*.jsonl"

// Summary is the part of summary.json read here: the images face-api was
// given, those it failed on and the wall time it took (model loading and
// warm-up excluded).
type Summary struct {
	Images      int     `json:"images"`
	Failed      int     `json:"failed"`
	WallSeconds float64 `json:"wall_s"`
	Detector    string  `json:"detector"`  // wild.js only: ssd or tiny
	Landmarks   string  `json:"landmarks"` // wild.js only: full or tiny
}

// ReadSummary reads the summary.json of the output folder dir.
func ReadSummary(dir string) (Summary, error) {
	var sum Summary
	p := filepath.Join(dir, SummaryFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return sum, err
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		return sum, fmt.Errorf("%s: %w", p, err)
	}
	return sum, nil
}

// Line is one line of a part-*.jsonl, the fields read here; a field the
// line lacks is nil.
type Line struct {
	File      string   `json:"file"`  // the image's base name
	Error     *string  `json:"error"` // why the image failed
	Faces     *int     `json:"faces"` // wild.js: 0 on the line of an image without a face
	BoxX      *float64 `json:"box_x"` // wild.js: the face's box in the upright image's pixels
	BoxY      *float64 `json:"box_y"`
	BoxWidth  *float64 `json:"box_width"`
	BoxHeight *float64 `json:"box_height"`
	Age       *float64 `json:"age"`
	// Gender and GenderProbability are face-api's gender output: male or
	// female, and the probability of that label (see PFemale).
	Gender            string   `json:"gender"`
	GenderProbability *float64 `json:"gender_probability"`
}

// Prediction returns the line's age and probability of female, each NaN
// when the line lacks it, or PFemale's error.
func (l Line) Prediction() (age, pFemale float64, err error) {
	age, pFemale = math.NaN(), math.NaN()
	if l.Age != nil {
		age = *l.Age
	}
	if l.GenderProbability != nil {
		if pFemale, err = PFemale(l.Gender, *l.GenderProbability); err != nil {
			return 0, 0, err
		}
	}
	return age, pFemale, nil
}

// PFemale converts face-api's gender output, a label and the probability of
// that label, to the probability of female. face-api computes both from
// P(male), its softmax's first output: male when P(male) > 0.5 with
// probability P(male), else female with 1 - P(male); so this returns
// 1 - P(male) either way.
func PFemale(gender string, prob float64) (float64, error) {
	if !(prob >= 0 && prob <= 1) {
		return 0, fmt.Errorf("gender probability %v outside [0, 1]", prob)
	}
	switch gender {
	case "female":
		return prob, nil
	case "male":
		return 1 - prob, nil
	}
	return 0, fmt.Errorf("gender %q, want male or female", gender)
}

// ReadLines calls fn with each line of JSONL read from r and its number,
// from 1, blank lines skipped. A line that is not JSON or names no file is
// an error; an error from fn is returned as it is.
func ReadLines(r io.Reader, fn func(n int, l Line) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if l.File == "" {
			return fmt.Errorf("line %d: no file", n)
		}
		if err := fn(n, l); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ReadParts calls ReadLines with fn on each part-*.jsonl of the output
// folder dir, in the order of their names; an error names the part.
func ReadParts(dir string, fn func(n int, l Line) error) error {
	parts, err := filepath.Glob(filepath.Join(dir, PartsGlob))
	if err != nil {
		return err
	}
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = ReadLines(f, fn)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
