// Command comparewild scores face detection plus age and gender pipelines on
// the synthetic scenes of scripts/genscenes against their truth, side by
// side. scripts/bench-wild.sh uses it.
//
//	comparewild sources -truth=TRUTH
//	comparewild compare -truth=TRUTH [-faceapi=DIR]... [-faceapi_crops=DIR]
//	                    [-ours=SCORED -ours_wall=DURATION]
//	                    [-crops=SCORED -crops_wall=DURATION] [-show_fp]
//
// sources prints the distinct source crop paths of truth.csv, one a line.
//
// compare reads the truth (genscenes' truth.csv) and each pipeline's output:
//   - -faceapi: scripts/faceapi/wild.js's (part-*.jsonl, one line per face
//     or per image without one, and summary.json), repeatable;
//   - -ours: pipelines/score --faces=detect's (predictions/*.parquet, one row
//     per face with its box; rejects.parquet, where reason no_face marks an
//     image without one; summary.json), which ran for -ours_wall;
//   - -crops and -faceapi_crops: the same faces scored as UTKFace crops, our
//     pipelines/score --faces=whole (or a build without --faces) and
//     scripts/faceapi/agegender.js over the source crops listed in the truth.
//
// Detections are matched to the truth faces of their scene one to one (see
// match in compare.go: greedy by the distance from the box centre to the
// pasted crop's centre, accepted under 0.5 × the crop width, with a box
// size, sqrt(width × height), within a factor 2 of it). It prints per
// pipeline: the faces found (recall), false positives (detections matching
// no face; count and per 100 scenes), age MAE, gender accuracy and AUC on
// the faces found (package evaluate), images/s; recall by face size; the
// metrics of every pipeline on the faces all of them found; and the ratios
// of our images/s to each face-api.js detector's. -show_fp lists the false
// positives, each with its distance to the nearest pasted face.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "sources":
		fs := flag.NewFlagSet("sources", flag.ExitOnError)
		truth := fs.String("truth", "", "genscenes' truth.csv")
		fs.Parse(os.Args[2:])
		if *truth == "" {
			usage()
		}
		err = sources(os.Stdout, *truth)
	case "compare":
		fs := flag.NewFlagSet("compare", flag.ExitOnError)
		var c config
		fs.StringVar(&c.truth, "truth", "", "genscenes' truth.csv")
		fs.Var(&c.faceapi, "faceapi", "an output folder of scripts/faceapi/wild.js (repeatable)")
		fs.StringVar(&c.faceapiCrops, "faceapi_crops", "", "an output folder of scripts/faceapi/agegender.js over the source crops")
		fs.StringVar(&c.ours, "ours", "", "the output folder of pipelines/score --faces=detect over the scenes")
		fs.DurationVar(&c.oursWall, "ours_wall", 0, "its wall time, as its summary prints it")
		fs.StringVar(&c.oursName, "ours_name", "ours (score --faces=detect)", "its name in the table")
		fs.StringVar(&c.crops, "crops", "", "the output folder of pipelines/score over the source crops")
		fs.DurationVar(&c.cropsWall, "crops_wall", 0, "its wall time, as its summary prints it")
		fs.StringVar(&c.cropsName, "crops_name", "ours, source crops (--faces=whole)", "its name in the table")
		fs.BoolVar(&c.showFP, "show_fp", false, "list every false positive with its distance to the nearest pasted face")
		fs.Parse(os.Args[2:])
		if c.truth == "" || fs.NArg() > 0 {
			usage()
		}
		err = compare(os.Stdout, c)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "comparewild: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: comparewild sources -truth=TRUTH\n"+
		"       comparewild compare -truth=TRUTH [-faceapi=DIR]... [-faceapi_crops=DIR] [-ours=SCORED -ours_wall=DURATION] [-crops=SCORED -crops_wall=DURATION]")
	os.Exit(2)
}

type config struct {
	truth            string
	faceapi          listFlag
	faceapiCrops     string
	ours, oursName   string
	oursWall         time.Duration
	crops, cropsName string
	cropsWall        time.Duration
	showFP           bool
}

func loadTruth(path string) (Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return Truth{}, err
	}
	defer f.Close()
	t, err := readTruth(f)
	if err != nil {
		return Truth{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// sources prints the distinct source crop paths of the truth, sorted by
// first use.
func sources(w io.Writer, truthPath string) error {
	t, err := loadTruth(truthPath)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	seen := map[string]bool{}
	for _, f := range t.Faces {
		if !seen[f.SourcePath] {
			seen[f.SourcePath] = true
			fmt.Fprintln(bw, f.SourcePath)
		}
	}
	return bw.Flush()
}

// compare reads the runs and prints the table.
func compare(w io.Writer, c config) error {
	t, err := loadTruth(c.truth)
	if err != nil {
		return err
	}
	var runs []Run
	for _, dir := range c.faceapi {
		r, err := readFaceAPI(dir, false)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	// Our outputs may come from a pipelines/score still in the making: a
	// run that cannot be read is left out with a note, not fatal.
	if c.ours != "" {
		r, err := readOurs(c.ours, c.oursWall.Seconds(), false)
		if err != nil {
			fmt.Fprintf(w, "note: %s left out: %v\n", c.oursName, err)
		} else {
			r.Name, r.Ours = c.oursName, true
			runs = append(runs, r)
		}
	}
	if c.crops != "" {
		r, err := readOurs(c.crops, c.cropsWall.Seconds(), true)
		if err != nil {
			fmt.Fprintf(w, "note: %s left out: %v\n", c.cropsName, err)
		} else {
			r.Name = c.cropsName
			runs = append(runs, r)
		}
	}
	if c.faceapiCrops != "" {
		r, err := readFaceAPI(c.faceapiCrops, true)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return fmt.Errorf("no pipeline output to compare (-faceapi, -ours, -crops or -faceapi_crops)")
	}
	results := make([]Result, len(runs))
	for i, r := range runs {
		results[i] = score(t, r)
	}
	writeTable(w, t, results)
	if c.showFP {
		writeUnmatched(w, results)
	}
	return nil
}
