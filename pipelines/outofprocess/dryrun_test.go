package outofprocess_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDataflowDryRunOffline runs the README's Dataflow dry runs with the
// built binaries on a machine where Cloud Storage can't be reached (an
// emulator host that does not resolve stands for no network) and without
// credentials: each succeeds with a short summary and warnings, the gs://
// model and input that can't be listed included, instead of failing on the
// model's listing (score) or printing the job as two lines of 59 and 6 KB.
func TestDataflowDryRunOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline binaries: skipped with -short")
	}
	tmp := t.TempDir()
	bins := build(t, filepath.Join(tmp, "bin"), "./pipelines/ingest", "./pipelines/score")
	env := append(os.Environ(), "STORAGE_EMULATOR_HOST=facepipe-offline.invalid:4443",
		"GOOGLE_APPLICATION_CREDENTIALS=", "HOME="+tmp, "CLOUDSDK_CONFIG="+tmp, "TMPDIR="+tmp)
	common := []string{"--runner=dataflow", "--dry_run", "--project=P", "--region=us-central1",
		"--staging_location=gs://B/staging", "--input=gs://B/new/**.jpg"}
	for _, tc := range []struct {
		bin  string
		args []string
		want []string
	}{
		{"ingest", []string{"--output=gs://B/ingest", "--worker_binary=" + bins["ingest"]}, []string{
			"stages    Ingest: ListFiles → Inspect → ResolveDuplicates → AssignSplits → WriteShards",
			"worker    " + bins["ingest"] + " (",
		}},
		{"score", []string{"--output=gs://B/scored", "--model=gs://B/models", "--backend=go"}, []string{
			"score: warning: the models can't be opened from this machine",
			"stages    Score: score.listFn",
			"worker    none given",
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		cmd := exec.CommandContext(ctx, bins[tc.bin], append(common, tc.args...)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		got := out.String()
		t.Logf("%s:\n%s", tc.bin, got)
		if err != nil {
			t.Errorf("%s dry run offline: %v", tc.bin, err)
			continue
		}
		if len(got) > 4000 {
			t.Errorf("%s: %d bytes of output, want a short summary", tc.bin, len(got))
		}
		for _, l := range strings.Split(got, "\n") {
			if len(l) > 400 {
				t.Errorf("%s: a line of %d characters: %.200s…", tc.bin, len(l), l)
			}
		}
		want := append([]string{
			tc.bin + ": dry run: the Dataflow job was built, not submitted",
			"job       ",
			"staging   gs://B/staging/go-",
			"--input   gs://B/new/**.jpg (can't be listed here",
			tc.bin + ": warning: --input=gs://B/new/**.jpg can't be listed from this machine",
		}, tc.want...)
		for _, s := range want {
			if !strings.Contains(got, s) {
				t.Errorf("%s: the output does not hold %q", tc.bin, s)
			}
		}
		m := regexp.MustCompile(`full job  (\S+\.json) `).FindStringSubmatch(got)
		if m == nil {
			t.Errorf("%s: no job file named", tc.bin)
			continue
		}
		var job struct{ ProjectID string }
		if data, err := os.ReadFile(m[1]); err != nil || json.Unmarshal(data, &job) != nil || job.ProjectID != "P" {
			t.Errorf("%s: job file %s: %v, project %q", tc.bin, m[1], err, job.ProjectID)
		}
	}
}
