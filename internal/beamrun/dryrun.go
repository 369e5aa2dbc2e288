package beamrun

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/facepipe/facepipe/internal/cli"
	"github.com/facepipe/facepipe/internal/fsio"
)

// IsDryRun reports whether Beam's Dataflow runner will only build the job
// and print it (--runner=dataflow --dry_run).
func IsDryRun() bool {
	r, d := flag.Lookup("runner"), flag.Lookup("dry_run")
	return r != nil && d != nil && r.Value.String() == "dataflow" && d.Value.String() == "true"
}

// Path is a path flag of a run, named in the dry run's summary.
type Path struct {
	Flag, Value string
	Input       bool // listed, to count its files
}

// DryRunDir is where DryRun writes the job and the pipeline.
var DryRunDir = filepath.Join(os.TempDir(), "facepipe-dataflow")

// listTimeout bounds the listing of an input in a dry run: it never needs
// the network, so an input that can't be reached is a warning.
var listTimeout = 20 * time.Second

// DryRun builds the Dataflow job of p as --dry_run does, without the
// network, and writes a summary to w instead of Beam's log lines (the
// pipeline as one line of protobuf text, 59 KB for ingest, and the job as
// one line of JSON): the job, its stages, the worker binary, the staging
// path, and each path flag, an input with the number of its files where
// it can be listed. The job's JSON and the pipeline's are written in full
// to DryRunDir and named. What can't be reached (an input, a bucket) is a
// warning, never a failure.
func DryRun(ctx context.Context, p *beam.Pipeline, name string, paths []Path, w io.Writer) error {
	BeginDryRun()
	c := dry
	defer func() {
		beamlog.SetLogger(&beamlog.Structural{})
		dry = nil
	}()
	// Beam checks the staging bucket's soft-delete policy over the
	// network, a warning when it can't: bound how long it may try.
	runCtx, cancel := context.WithTimeout(ctx, listTimeout)
	_, err := beamx.RunWithMetrics(runCtx, p)
	cancel()
	if err != nil {
		return Condense(err)
	}
	var job map[string]any
	var jobJSON []byte
	var pipeline *pipepb.Pipeline
	for _, m := range c.infos {
		if strings.HasPrefix(m, "{") && job == nil {
			if json.Unmarshal([]byte(m), &job) == nil {
				jobJSON = []byte(m + "\n")
			}
			continue
		}
		if strings.Contains(m, "root_transform_ids") && pipeline == nil {
			pl := &pipepb.Pipeline{}
			if prototext.Unmarshal([]byte(m), pl) == nil {
				pipeline = pl
			}
		}
	}
	if job == nil || pipeline == nil {
		return fmt.Errorf("the Dataflow runner's dry run printed no job")
	}
	if err := os.MkdirAll(DryRunDir, 0o755); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	jobFile := filepath.Join(DryRunDir, name+"-job.json")
	pipelineFile := filepath.Join(DryRunDir, name+"-pipeline.json")
	pipelineJSON, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(pipeline)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	for f, data := range map[string][]byte{jobFile: jobJSON, pipelineFile: pipelineJSON} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
	}

	c.mu.Lock()
	warnings := slices.Clone(c.ours) // then the summary's, then Beam's
	c.mu.Unlock()
	summary := &strings.Builder{}
	fmt.Fprintf(summary, "%s: dry run: the Dataflow job was built, not submitted\n", name)
	line := func(k, format string, a ...any) {
		fmt.Fprintf(summary, "  %-9s %s\n", k, fmt.Sprintf(format, a...))
	}
	env, _ := job["environment"].(map[string]any)
	opts := dig(env, "sdkPipelineOptions", "options")
	pool := map[string]any{}
	if pools, ok := env["workerPools"].([]any); ok && len(pools) > 0 {
		pool, _ = pools[0].(map[string]any)
	}
	workers := fmt.Sprintf("%v worker", num(pool["numWorkers"]))
	if n := num(dig(pool, "autoscalingSettings")["maxNumWorkers"]); n > 0 {
		workers += fmt.Sprintf(" at the start, up to %v", n)
	}
	if mt, _ := pool["machineType"].(string); mt != "" {
		workers += ", " + mt
	}
	line("job", "%v in project %v, region %v (%s)", job["name"], job["projectId"], opts["region"], workers)
	stages, leaves := Stages(pipeline)
	for i, st := range stages {
		if i == len(stages)-1 {
			st += fmt.Sprintf(" (%d transforms in all)", leaves)
		}
		line(map[bool]string{true: "stages", false: ""}[i == 0], "%s", st)
	}
	staged := ""
	if pkgs, ok := pool["packages"].([]any); ok && len(pkgs) > 0 {
		pkg, _ := pkgs[0].(map[string]any)
		staged, _ = pkg["location"].(string)
	}
	if f := flag.Lookup("worker_binary"); f != nil && f.Value.String() != "" {
		wb := f.Value.String()
		if st, err := os.Stat(wb); err == nil {
			line("worker", "%s (%.1f MB), uploaded as %s", wb, float64(st.Size())/1e6, staged)
		} else {
			warnings = append(warnings, fmt.Sprintf("--worker_binary=%s: %v", wb, err))
			line("worker", "%s (missing), uploaded as %s", wb, staged)
		}
	} else {
		line("worker", "none given: at submission Beam would build this program for linux/amd64 (minutes; scripts/dataflow.sh builds it once and passes --worker_binary)")
	}
	if u, _ := opts["pipelineUrl"].(string); u != "" {
		line("staging", "%s/ (the pipeline as model, the worker binary as worker)", strings.TrimSuffix(u, "/model"))
	}
	for _, pa := range paths {
		if pa.Value == "" {
			continue
		}
		if !pa.Input {
			line("--"+pa.Flag, "%s", pa.Value)
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		files, err := fsio.List(lctx, pa.Value)
		cancel()
		switch {
		case err != nil:
			line("--"+pa.Flag, "%s (can't be listed here: see the warning)", pa.Value)
			warnings = append(warnings, fmt.Sprintf("--%s=%s can't be listed from this machine (the workers list it when the job runs): %v", pa.Flag, pa.Value, err))
		case len(files) == 0:
			line("--"+pa.Flag, "%s: no files", pa.Value)
			warnings = append(warnings, fmt.Sprintf("--%s=%s holds no files now", pa.Flag, pa.Value))
		default:
			line("--"+pa.Flag, "%s: %d files", pa.Value, len(files))
		}
	}
	line("full job", "%s (%.1f KB); the pipeline: %s (%.1f KB)", jobFile, float64(len(jobJSON))/1e3, pipelineFile, float64(len(pipelineJSON))/1e3)
	c.mu.Lock()
	for _, m := range c.warnings {
		warnings = append(warnings, "Beam: "+short(m))
	}
	c.mu.Unlock()
	for _, wa := range warnings {
		fmt.Fprintf(summary, "%s: warning: %s\n", name, short(wa))
	}
	_, err = io.WriteString(w, summary.String())
	return err
}

// Stages names the pipeline's stages, one line per root transform: its
// name and its parts in the order they were built (composites and DoFns;
// the runner's plumbing, impulses, flattens and group-bys, left out), and
// counts the primitive transforms.
func Stages(p *pipepb.Pipeline) (lines []string, leaves int) {
	ts := p.GetComponents().GetTransforms()
	for _, id := range p.GetRootTransformIds() {
		root := ts[id].GetUniqueName()
		var parts []string
		for _, sub := range ts[id].GetSubtransforms() {
			n := strings.TrimPrefix(ts[sub].GetUniqueName(), root+"/")
			if plumbing.MatchString(n) {
				continue
			}
			parts = append(parts, n)
		}
		if len(parts) == 0 {
			lines = append(lines, root)
			continue
		}
		lines = append(lines, root+": "+strings.Join(parts, " → "))
	}
	for _, t := range ts {
		if len(t.GetSubtransforms()) == 0 {
			leaves++
		}
	}
	return lines, leaves
}

// plumbing matches the names of the transforms that Beam adds between
// the steps of a pipeline.
var plumbing = regexp.MustCompile(`^(Impulse|Flatten|CoGBK|GBK|Reshuffle)('\d+)?$`)

// dry keeps Beam's log records from BeginDryRun to the end of DryRun.
var dry *capture

// BeginDryRun keeps Beam's log records from now on for DryRun, which
// reports the warnings among them (a bucket that can't be reached) in its
// summary, so that what a dry run prints is that summary.
func BeginDryRun() {
	if dry == nil {
		dry = &capture{}
		beamlog.SetLogger(dry)
	}
}

// Warn adds a warning to the summary of DryRun.
func Warn(format string, a ...any) {
	BeginDryRun()
	dry.mu.Lock()
	dry.ours = append(dry.ours, fmt.Sprintf(format, a...))
	dry.mu.Unlock()
}

// capture is a Beam logger that keeps the runner's info records (the dry
// run's pipeline and job) and its warnings, each once.
type capture struct {
	mu       sync.Mutex
	infos    []string
	warnings []string
	ours     []string // Warn's
}

func (c *capture) Log(_ context.Context, sev beamlog.Severity, _ int, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case sev >= beamlog.SevWarn:
		if !slices.Contains(c.warnings, msg) {
			c.warnings = append(c.warnings, msg)
		}
	case sev == beamlog.SevInfo:
		c.infos = append(c.infos, msg)
	}
}

// dig follows keys down nested JSON objects; a missing one gives an empty
// object.
func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	if m == nil {
		return map[string]any{}
	}
	return m
}

// num is a JSON number as an integer (0 when missing).
func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case string:
		var i int64
		fmt.Sscan(n, &i)
		return i
	}
	return 0
}

// requestURL and seeDocs are the parts of the Cloud Storage client's errors
// that make a warning long without saying more.
var (
	requestURL = regexp.MustCompile(`(Get|Post|Put|Delete|Patch) "https?://[^"]*": `)
	seeDocs    = regexp.MustCompile(`\.? See https?://\S+ for more information\.?`)
)

// short is a warning on one line, without the request's URL and a link to
// the authentication docs.
func short(msg string) string {
	msg = seeDocs.ReplaceAllString(requestURL.ReplaceAllString(msg, ""), "")
	return strings.TrimPrefix(cli.OneLine(msg), "Warning: ")
}
