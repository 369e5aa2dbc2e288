// Command genfixtures writes a synthetic UTKFace-like data set (see package
// internal/fixtures) into a directory, for demos and manual pipeline runs.
//
//	go run ./scripts/genfixtures -out /tmp/utkface -n 200
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/facepipe/facepipe/internal/fixtures"
)

func main() {
	out := flag.String("out", "", "directory to write the files into (created if needed; required)")
	n := flag.Int("n", 200, "number of good, distinct, labelled JPEGs")
	size := flag.Int("size", 200, "width and height of the pictures")
	seed := flag.Int64("seed", 0, "seed; the output is a deterministic function of the flags")
	bad := flag.Bool("bad", true, "add unusual formats (gray, CMYK, PNG...), bad names and bad contents")
	odd := flag.Bool("odd_names", true, "add the 8 odd-but-valid UTKFace name patterns")
	dups := flag.Bool("duplicates", true, "add byte-identical duplicate groups")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: genfixtures -out DIR [-n 200] [-size 200] [-seed 0] [-bad] [-odd_names] [-duplicates]")
		os.Exit(2)
	}
	files, err := fixtures.Generate(*out, fixtures.Options{
		Good: *n, Size: *size, Seed: *seed, Bad: *bad, OddNames: *odd, Duplicates: *dups,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "genfixtures:", err)
		os.Exit(1)
	}
	written := 0
	reasons := map[string]int{}
	kinds := map[fixtures.Kind]int{}
	for _, f := range files {
		kinds[f.Kind]++
		if f.Reason == "" {
			written++
		} else {
			reasons[f.Reason]++
		}
	}
	var kb, rb strings.Builder
	for _, k := range fixtures.AllKinds {
		if kinds[k] > 0 {
			fmt.Fprintf(&kb, " %s=%d", k, kinds[k])
		}
	}
	for _, r := range fixtures.AllReasons {
		if reasons[r] > 0 {
			fmt.Fprintf(&rb, " %s=%d", r, reasons[r])
		}
	}
	fmt.Printf("genfixtures: wrote %d files to %s (seed %d, %dx%d): %d to be written, %d to be rejected; kinds:%s; reasons:%s\n",
		len(files), *out, *seed, *size, *size, written, len(files)-written, kb.String(), rb.String())
}
