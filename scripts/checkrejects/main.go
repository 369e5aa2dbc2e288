// Command checkrejects checks an ingest output against a list of broken
// inputs: each must be in rejects.parquet with the expected reason, and the
// manifest's counts must reconcile (inputs = written + rejected). It prints
// a table by reason and exits 1 on any mismatch. scripts/scale.sh uses it.
//
//	checkrejects OUTPUT EXPECTED.tsv   (lines: file name, tab, reason)
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/rejects"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: checkrejects OUTPUT EXPECTED.tsv")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "checkrejects: %v\n", err)
		os.Exit(1)
	}
}

func run(out, expectedFile string) error {
	rows, err := parquet.ReadFile[schemas.Reject](filepath.Join(out, rejects.File))
	if err != nil {
		return err
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.File] = r.Reason
	}
	f, err := os.Open(expectedFile)
	if err != nil {
		return err
	}
	defer f.Close()
	type tally struct{ want, ok int }
	byReason := map[string]*tally{}
	var wrong []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, reason, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		t := byReason[reason]
		if t == nil {
			t = &tally{}
			byReason[reason] = t
		}
		t.want++
		if got[name] == reason {
			t.ok++
		} else {
			wrong = append(wrong, fmt.Sprintf("%s: rejected as %q, want %q", name, got[name], reason))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(out, schemas.ManifestFile))
	if err != nil {
		return err
	}
	m, err := schemas.ParseManifest(data)
	if err != nil {
		return err
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Printf("  %-18s %4d of %4d broken inputs rejected with this reason\n", r, byReason[r].ok, byReason[r].want)
	}
	fmt.Printf("  manifest: %d inputs = %d written + %d rejected (%d rows in rejects.parquet)\n",
		m.Counts.Inputs, m.Counts.Written, m.Counts.Rejected, len(rows))
	if m.Counts.Inputs != m.Counts.Written+m.Counts.Rejected || m.Counts.Rejected != len(rows) {
		return fmt.Errorf("the counts don't reconcile")
	}
	if len(wrong) > 0 {
		for _, w := range wrong[:min(len(wrong), 20)] {
			fmt.Fprintln(os.Stderr, "  "+w)
		}
		return fmt.Errorf("%d broken inputs without the expected reject", len(wrong))
	}
	return nil
}
