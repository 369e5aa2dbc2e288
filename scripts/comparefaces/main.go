// Command comparefaces puts face-api.js's age and gender predictions beside
// ours on the same images, with the metrics of package evaluate for both, so
// that the definitions are the same. scripts/bench-faceapi.sh uses it.
//
//	comparefaces list -ingest=DIR [-split=test]
//	comparefaces compare -ours=SCORED -ours_wall=DURATION -theirs=DIR
//
// list prints the paths of an ingest run's written images of one split, one
// a line, from DIR/stats/labels/*.parquet.
//
// compare reads our predictions (SCORED/predictions/*.parquet and
// SCORED/summary.json, written by pipelines/score, which ran for
// -ours_wall) and face-api's (DIR/part-*.jsonl and DIR/summary.json, written
// by scripts/faceapi/agegender.js), joins them by file name, takes the true
// labels from the UTKFace names, and prints age MAE, gender accuracy and AUC
// of both, overall and by age band, then both rates in images/s and their
// ratio.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "list":
		fs := flag.NewFlagSet("list", flag.ExitOnError)
		ingest := fs.String("ingest", "", "an ingest output folder")
		split := fs.String("split", "test", "the split to list")
		fs.Parse(os.Args[2:])
		if *ingest == "" {
			usage()
		}
		err = list(os.Stdout, *ingest, *split)
	case "compare":
		fs := flag.NewFlagSet("compare", flag.ExitOnError)
		ours := fs.String("ours", "", "the output folder of pipelines/score")
		oursWall := fs.Duration("ours_wall", 0, "the wall time of our scoring run, as its summary prints it")
		theirs := fs.String("theirs", "", "the output folder of scripts/faceapi/agegender.js")
		fs.Parse(os.Args[2:])
		if *ours == "" || *theirs == "" {
			usage()
		}
		err = compare(os.Stdout, *ours, *oursWall, *theirs)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "comparefaces: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: comparefaces list -ingest=DIR [-split=test]\n"+
		"       comparefaces compare -ours=SCORED -ours_wall=DURATION -theirs=DIR")
	os.Exit(2)
}

// compare reads both sides' outputs and prints the comparison.
func compare(w io.Writer, oursDir string, oursWall time.Duration, theirsDir string) error {
	ours, oursRun, err := readOurs(oursDir)
	if err != nil {
		return err
	}
	theirs, theirsRun, err := readTheirs(theirsDir)
	if err != nil {
		return err
	}
	j, err := join(ours, theirs)
	if err != nil {
		return err
	}
	rates := Rates{
		Ours:   Rate{Images: oursRun.Inputs, Failed: oursRun.Rejected, Seconds: oursWall.Seconds()},
		Theirs: Rate{Images: theirsRun.Images, Failed: theirsRun.Failed, Seconds: theirsRun.WallSeconds},
	}
	return writeTable(w, j, rates)
}
