package cli

import (
	"bytes"
	"flag"
	"slices"
	"strings"
	"testing"

	// Beam's runner and Dataflow flags, which the binaries define too: a
	// suggestion is searched for among them as well.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// beamFlagSet is a flag set with Beam's flags (those of the command line,
// which the imports above defined) and a few of ingest's own.
func beamFlagSet(t *testing.T) *flag.FlagSet {
	t.Helper()
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	flag.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	for _, n := range []string{"input", "output", "labels_dir"} {
		fs.String(n, "", "")
	}
	fs.Int("image_size", 224, "")
	fs.Int("limit", 0, "")
	fs.Usage = func() { Help{Name: "ingest", Runner: map[string]bool{"runner": true}}.Write(fs.Output(), fs) }
	if fs.Lookup("staging_location") == nil || fs.Lookup("worker_zone") == nil {
		t.Fatal("Beam's Dataflow flags are not defined")
	}
	return fs
}

func TestParseMistakeIsShort(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantLine string // the first line
		suggest  string // the second line, "" for none
	}{
		{[]string{"--ouput=x"}, "ingest: unknown flag --ouput", "ingest: did you mean --output?"},
		{[]string{"-inptu", "x"}, "ingest: unknown flag --inptu", "ingest: did you mean --input?"},
		{[]string{"--image-size=64"}, "ingest: unknown flag --image-size", "ingest: did you mean --image_size?"},
		{[]string{"--IMAGE_SIZE=64"}, "ingest: unknown flag --IMAGE_SIZE", "ingest: did you mean --image_size?"},
		// Beam's flags are searched too, and a prefix counts.
		{[]string{"--staging=gs://b/s"}, "ingest: unknown flag --staging", "ingest: did you mean --staging_location?"},
		{[]string{"--dryrun"}, "ingest: unknown flag --dryrun", "ingest: did you mean --dry_run?"},
		{[]string{"--zxqv=1"}, "ingest: unknown flag --zxqv", ""},
		{[]string{"--limit=many"}, `ingest: invalid value "many" for flag --limit: parse error`, ""},
	} {
		fs := beamFlagSet(t)
		var w bytes.Buffer
		code, done := ParseArgs(fs, "ingest", tc.args, &w)
		lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
		if code != 2 || !done {
			t.Errorf("%v: exit %d (done %v), want 2", tc.args, code, done)
		}
		if len(lines) > 3 {
			t.Errorf("%v: %d lines, want at most 3:\n%s", tc.args, len(lines), w.String())
		}
		if lines[0] != tc.wantLine {
			t.Errorf("%v: first line %q, want %q", tc.args, lines[0], tc.wantLine)
		}
		wantLen := 2
		if tc.suggest != "" {
			wantLen = 3
			if len(lines) < 2 || lines[1] != tc.suggest {
				t.Errorf("%v: %q, want the second line %q", tc.args, w.String(), tc.suggest)
			}
		}
		if len(lines) != wantLen || lines[len(lines)-1] != "ingest: run with --help for more" {
			t.Errorf("%v: %q, want %d lines ending with the pointer to --help", tc.args, w.String(), wantLen)
		}
	}
}

func TestParseHelpAndGoodArgs(t *testing.T) {
	fs := beamFlagSet(t)
	var help, w bytes.Buffer
	fs.SetOutput(&help)
	if code, done := ParseArgs(fs, "ingest", []string{"--help"}, &w); code != 0 || !done {
		t.Errorf("--help: exit %d (done %v), want 0", code, done)
	}
	if w.Len() != 0 || !strings.Contains(help.String(), "-staging_location") || strings.Count(help.String(), "\n") < 50 {
		t.Errorf("--help wrote %q to the error writer and %d lines of help, want the whole help", w.String(), strings.Count(help.String(), "\n"))
	}
	fs = beamFlagSet(t)
	if code, done := ParseArgs(fs, "ingest", []string{"--input=a", "--limit=3", "rest"}, &w); done || code != 0 {
		t.Errorf("good arguments: exit %d (done %v), want to go on", code, done)
	}
	if fs.Lookup("limit").Value.String() != "3" || !slices.Equal(fs.Args(), []string{"rest"}) || w.Len() != 0 {
		t.Errorf("good arguments parsed as limit=%s args=%v, wrote %q", fs.Lookup("limit").Value, fs.Args(), w.String())
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"output", "output", 0}, {"ouput", "output", 1}, {"inptu", "input", 1},
		{"outptu", "output", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}
