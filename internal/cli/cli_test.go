package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{errors.New("listing /x: no such file"), []string{"ingest: listing /x: no such file\n"}},
		{errors.New("dialing: credentials: could not find default credentials. See https://cloud.google.com"),
			[]string{"ingest: dialing: credentials", "ingest: hint: ", "GOOGLE_APPLICATION_CREDENTIALS"}},
	} {
		var b bytes.Buffer
		Report(&b, "ingest", tc.err)
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("Report(%v) = %q, want it to contain %q", tc.err, b.String(), w)
			}
		}
		if (Hint(tc.err) == "") == strings.Contains(b.String(), "hint:") {
			t.Errorf("Report(%v) = %q: hint line and Hint disagree", tc.err, b.String())
		}
	}
}

func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		runner          string
		input, output   string
		wantErrContains string
	}{
		{"prism", dir, "/tmp/out", ""},
		{"prism", dir + "/missing", "/tmp/out", "--input: stat"},
		{"prism", dir + "/*.jpg", "/tmp/out", ""},
		{"prism", "gs://b/in", "/tmp/out", ""},
		{"dataflow", "gs://b/in", "gs://b/out", ""},
		{"dataflow", "gs://b/in", "/tmp/out", "--output=/tmp/out: Dataflow workers"},
		{"dataflow", dir, "gs://b/out", "--input=" + dir + ": Dataflow workers"},
	} {
		err := CheckPaths(tc.runner, map[string]string{"input": tc.input}, map[string]string{"output": tc.output})
		if tc.wantErrContains == "" && err != nil || tc.wantErrContains != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrContains)) {
			t.Errorf("CheckPaths(%s, %s, %s) = %v, want an error containing %q", tc.runner, tc.input, tc.output, err, tc.wantErrContains)
		}
	}
}
