package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/compute/metadata"
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
	// No Google credentials anywhere, unless a case gives some.
	t.Setenv("HOME", dir)
	t.Setenv("CLOUDSDK_CONFIG", dir)
	if metadata.OnGCE() {
		t.Skip("a metadata server gives credentials here")
	}
	key := filepath.Join(dir, "key.json")
	if err := os.WriteFile(key, []byte(`{"type": "service_account", "client_email": "ingest@p.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		runner          string
		input, output   string
		credentials     string // GOOGLE_APPLICATION_CREDENTIALS
		emulator        string // STORAGE_EMULATOR_HOST
		wantErrContains string
	}{
		{"prism", dir, out, "", "", ""},
		{"prism", dir + "/missing", out, "", "", "--input=" + dir + "/missing: no such file or folder"},
		{"prism", dir + "/*.jpg", out, "", "", ""},
		{"prism", "gs://b/in", out, "", "", ""}, // a public bucket reads without credentials
		{"prism", dir, "gs://b/out", "", "", "--output=gs://b/out: google: could not find default credentials"},
		{"prism", dir, "gs://b/out", "", "127.0.0.1:4443", ""},
		{"dataflow", "gs://b/in", "gs://b/out", key, "", ""},
		{"dataflow", "gs://b/in", "gs://b/out", "", "", "could not find default credentials"},
		{"dataflow", "gs://b/in", out, key, "", "--output=" + out + ": Dataflow workers"},
		{"dataflow", dir, "gs://b/out", key, "", "--input=" + dir + ": Dataflow workers"},
	} {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", tc.credentials)
		t.Setenv("STORAGE_EMULATOR_HOST", tc.emulator)
		err := CheckPaths(tc.runner, map[string]string{"input": tc.input}, map[string]string{"output": tc.output})
		if tc.wantErrContains == "" && err != nil || tc.wantErrContains != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrContains)) {
			t.Errorf("CheckPaths(%s, %s, %s) = %v, want an error containing %q", tc.runner, tc.input, tc.output, err, tc.wantErrContains)
		}
	}
}

func TestOnOffAuto(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"on", "on"}, {"true", "on"}, {"1", "on"}, {"off", "off"}, {"FALSE", "off"}, {"0", "off"}, {"auto", "auto"}, {"maybe", ""},
	} {
		v := OnOffAuto("auto")
		err := v.Set(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("Set(%q) took it as %q, want an error", c.in, v)
			}
			continue
		}
		if err != nil || v.String() != c.want {
			t.Errorf("Set(%q): %q, %v; want %q", c.in, v, err, c.want)
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	v := OnOffAuto("auto")
	fs.Var(&v, "tta", "")
	if err := fs.Parse([]string{"-tta"}); err != nil || v != "on" {
		t.Errorf("-tta alone: %q, %v; want on", v, err)
	}
}
