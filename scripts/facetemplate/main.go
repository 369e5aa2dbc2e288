// Command facetemplate measures where the face detector puts the eyes, nose
// and mouth of UTKFace crops: it runs the detector over a sample of crops, as
// scoring runs it on a whole crop, and prints the mean and standard deviation
// of each keypoint, the share of crops with a face found, and the Go literal
// of faces.Template. The template that aligned crops are warped onto comes
// from this, so that the detector's own biases cancel.
//
//	go run ./scripts/facetemplate --data=../shared/datasets/utkface-dev --n=2000
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/facepipe/facepipe/faces"
	"github.com/facepipe/facepipe/faces/graphnet"
	"github.com/facepipe/facepipe/model"
	"github.com/facepipe/facepipe/preprocess"
)

var (
	data    = flag.String("data", "../shared/datasets/utkface-dev", "folder of UTKFace crops")
	n       = flag.Int("n", 2000, "crops to measure: every k-th file of the sorted listing")
	border  = flag.Float64("border", faces.DefaultPlan.Border, "the whole-image pass's square, in times the image's longer side")
	thresh  = flag.Float64("threshold", faces.DefaultThreshold, "detection score threshold")
	backend = flag.String("backend", "", "GoMLX backend (default: onnx:cpu when ONNX Runtime is installed)")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "facetemplate:", err)
		os.Exit(1)
	}
}

func run() error {
	files, err := filepath.Glob(filepath.Join(*data, "*.jpg"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .jpg files in %s", *data)
	}
	sort.Strings(files)
	step := max(1, len(files) / *n)
	b, name, err := model.NewBackend(*backend)
	if err != nil {
		return err
	}
	d, err := graphnet.OpenDetector(b)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Plan.Border, d.Threshold = *border, *thresh
	var sum, sq [faces.NumKeypoints]faces.Point
	var found, multi, tried int
	var scores []float64
	for i := 0; i < len(files) && tried < *n; i += step {
		tried++
		raw, err := os.ReadFile(files[i])
		if err != nil {
			return err
		}
		img, _, err := preprocess.Decode(raw, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
		fs, err := d.Detect(img)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			continue
		}
		if len(fs) > 1 {
			multi++
		}
		found++
		f := fs[0]
		scores = append(scores, f.Score)
		for k, p := range f.Keypoints {
			sum[k].X += p.X
			sum[k].Y += p.Y
			sq[k].X += p.X * p.X
			sq[k].Y += p.Y * p.Y
		}
	}
	sort.Float64s(scores)
	fmt.Printf("backend %s; %d crops, a face found in %d (%.1f%%), more than one in %d; border %.2f, threshold %.2f\n",
		name, tried, found, 100*float64(found)/float64(tried), multi, *border, *thresh)
	if found == 0 {
		return nil
	}
	fmt.Printf("score of the best face: min %.3f, 5%% %.3f, median %.3f\n", scores[0], scores[len(scores)/20], scores[len(scores)/2])
	names := []string{"EyeLeft", "EyeRight", "Nose", "Mouth", "EarLeft", "EarRight"}
	nf := float64(found)
	fmt.Println("keypoint     mean x  mean y   sd x   sd y")
	for k := range sum {
		mx, my := sum[k].X/nf, sum[k].Y/nf
		fmt.Printf("%-10s %7.1f %7.1f %6.1f %6.1f\n", names[k], mx, my,
			math.Sqrt(max(0, sq[k].X/nf-mx*mx)), math.Sqrt(max(0, sq[k].Y/nf-my*my)))
	}
	fmt.Println("var Template = [4]Point{")
	for k := 0; k < 4; k++ {
		fmt.Printf("\t%s: {%.1f, %.1f},\n", names[k], sum[k].X/nf, sum[k].Y/nf)
	}
	fmt.Println("}")
	return nil
}
