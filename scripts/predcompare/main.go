// Command predcompare compares the predictions of two scoring runs of the
// same images (the predictions/*.parquet of pipelines/score), matched by
// path: the largest and mean absolute differences of predicted_age and
// p_female, and how many predicted genders differ. It exits 1 when a
// difference is over its tolerance or the two runs scored different images.
// scripts/gpu-check.sh uses it to compare a GPU backend with onnx:cpu.
//
//	go run ./scripts/predcompare -age_tol 0.25 -p_tol 0.01 scored-gpu scored-cpu
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/schemas"
)

func main() {
	ageTol := flag.Float64("age_tol", 0.25, "largest absolute difference of predicted_age allowed, in years")
	pTol := flag.Float64("p_tol", 0.01, "largest absolute difference of p_female allowed")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: predcompare [-age_tol Y] [-p_tol P] SCORE_OUTPUT_A SCORE_OUTPUT_B")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	ok, err := run(flag.Arg(0), flag.Arg(1), *ageTol, *pTol)
	if err != nil {
		fmt.Fprintf(os.Stderr, "predcompare: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// read returns a scoring run's predictions by path.
func read(dir string) (map[string]schemas.Prediction, error) {
	files, err := filepath.Glob(filepath.Join(dir, "predictions", "*.parquet"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no predictions/*.parquet in %s", dir)
	}
	out := map[string]schemas.Prediction{}
	for _, f := range files {
		rows, err := parquet.ReadFile[schemas.Prediction](f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, r := range rows {
			out[r.Path] = r
		}
	}
	return out, nil
}

// diff accumulates absolute differences of one column.
type diff struct {
	n         int
	max, sum  float64
	nullOnOne int
}

func (d *diff) add(a, b *float64) {
	switch {
	case a == nil && b == nil:
	case a == nil || b == nil:
		d.nullOnOne++
	default:
		v := math.Abs(*a - *b)
		if math.IsNaN(v) {
			v = math.Inf(1)
		}
		d.n++
		d.max = max(d.max, v)
		d.sum += v
	}
}

func (d *diff) check(name, unit string, tol float64) bool {
	if d.n == 0 {
		fmt.Printf("%-13s no values to compare\n", name)
		return d.nullOnOne == 0
	}
	ok := d.max <= tol && d.nullOnOne == 0
	verdict := "ok"
	if !ok {
		verdict = "OVER TOLERANCE"
	}
	fmt.Printf("%-13s %d images: max |diff| %.3g%s, mean %.3g%s (tolerance %g%s): %s\n",
		name, d.n, d.max, unit, d.sum/float64(d.n), unit, tol, unit, verdict)
	if d.nullOnOne > 0 {
		fmt.Printf("%-13s %d images have a value in one run only\n", name, d.nullOnOne)
	}
	return ok
}

func run(dirA, dirB string, ageTol, pTol float64) (bool, error) {
	a, err := read(dirA)
	if err != nil {
		return false, err
	}
	b, err := read(dirB)
	if err != nil {
		return false, err
	}
	var age, pf diff
	genders, missing := 0, 0
	for path, ra := range a {
		rb, ok := b[path]
		if !ok {
			missing++
			continue
		}
		age.add(ra.PredictedAge, rb.PredictedAge)
		pf.add(ra.PFemale, rb.PFemale)
		if ra.PredictedGender != nil && rb.PredictedGender != nil && *ra.PredictedGender != *rb.PredictedGender {
			genders++
		}
	}
	missing += len(b) - (len(a) - missing)
	ok := age.check("predicted_age", " years", ageTol)
	ok = pf.check("p_female", "", pTol) && ok
	fmt.Printf("%-13s %d of %d images classified differently (p_female near 0.5)\n", "gender", genders, pf.n)
	if missing > 0 {
		fmt.Printf("%d images were scored by one run only\n", missing)
		ok = false
	}
	return ok, nil
}
