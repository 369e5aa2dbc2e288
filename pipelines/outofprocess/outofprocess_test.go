// Package outofprocess_test runs the pipeline binaries the way a distributed
// runner does: against a standalone job server, with the user code executed by
// separate SDK worker processes.
package outofprocess_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"

	"github.com/facepipe/facepipe/internal/fixtures"
)

const (
	prismPkg = "github.com/apache/beam/sdks/v2/go/cmd/prism"
	// bootPkg is the Go SDK container's boot loader, the entry point of
	// Beam's Go SDK container image: it fetches the provisioning info and
	// the staged worker binary from the runner and runs the binary in
	// worker mode (--worker=true).
	bootPkg = "github.com/apache/beam/sdks/v2/go/container"

	runTimeout = 4 * time.Minute // one pipeline run; a lost worker hangs a Prism job forever
)

// TestOutOfProcessWorkers proves that ingest and score work when their user
// code runs in SDK worker processes separate from the launching program, as
// on Dataflow, and give byte-identical outputs to the in-process Prism run.
// In-process Prism hides what breaks there: unregistered types and functions,
// DoFn fields that do not survive serialization (unexported ones arrive
// empty), and state a DoFn expects main to have set up (flags, package
// variables).
//
// The test builds the real binaries, then runs each pipeline twice on the
// same input and output path:
//
//  1. in process: --runner=prism, Prism and the workers inside the launcher
//     (loopback);
//  2. out of process: --runner=universal --endpoint=127.0.0.1:<port> against a
//     standalone Prism job server (Beam's cmd/prism, started as its own
//     process), with --environment_type=EXTERNAL and
//     --environment_config=<worker pool address>. Prism asks the worker pool
//     to start each SDK worker; the pool runs Beam's Go boot loader
//     (go/container) in a fresh process group, which fetches the staged
//     --worker_binary (the same binary) from Prism's artifact service and
//     runs a copy of it with --worker=true.
//
// It then asserts that every file of the two output folders is byte-identical,
// and that the work was done by separate processes: for each job Prism
// started at least one worker through the pool, and the pool saw the boot
// loader's child running a copy of the pipeline binary (same SHA-256) with
// --worker=true, under a PID that is neither the launcher's, Prism's nor the
// test's.
func TestOutOfProcessWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the pipeline binaries and runs them against a standalone Prism: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("finds the worker processes through /proc")
	}
	tmp := t.TempDir()
	bins := buildBinaries(t, filepath.Join(tmp, "bin"))

	in := filepath.Join(tmp, "in")
	if _, err := fixtures.Generate(in, fixtures.Options{Good: 40, Size: 64, Bad: true, OddNames: true, Duplicates: true, Seed: 7}); err != nil {
		t.Fatal(err)
	}

	prism := startPrism(t, bins["prism"], filepath.Join(tmp, "prism"))
	pool := startWorkerPool(t, bins["container"], filepath.Join(tmp, "pool"))
	t.Logf("Prism job server %s (pid %d), worker pool %s", prism.endpoint, prism.pid, pool.addr)

	for _, tc := range []struct {
		name string
		args []string
	}{
		// Flags with values other than their defaults: a DoFn that read a
		// flag's package variable instead of carrying the value in an
		// exported field would see the default in a worker process (Beam
		// passes the launcher's flags to workers as pipeline options, not
		// as flags).
		{"ingest", []string{"--input=" + in, "--image_size=32", "--num_shards=2", "--seed=7"}},
		{"score", []string{"--input=" + in, "--model=default", "--backend=go", "--batch=8", "--files_per_part=16", "--faces=whole",
			"--contact_sheet=12", "--name_labels=auto"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := bins[tc.name]
			dir := filepath.Join(tmp, tc.name)
			// Both runs write to the same path, so that the files naming
			// the output folder (ingest's manifest.json and report.html)
			// are compared too. No file is left out of the comparison:
			// neither pipeline writes anything that differs between two
			// runs with the same paths (no wall-clock time, host name or
			// PID; manifest.json's tool_version names the Go version,
			// which is the same binary's).
			out := filepath.Join(dir, "out")
			args := append(slices.Clone(tc.args), "--output="+out)

			start := time.Now()
			runBinary(t, bin, slices.Concat(args, []string{"--runner=prism"}))
			t.Logf("in process: %s", time.Since(start).Round(time.Millisecond))
			inProcess := filepath.Join(dir, "in_process")
			if err := os.Rename(out, inProcess); err != nil {
				t.Fatal(err)
			}

			jobName := "outofprocess-" + tc.name
			first := len(pool.workers())
			start = time.Now()
			launcher := runBinary(t, bin, slices.Concat(args, []string{
				"--runner=universal",
				"--endpoint=" + prism.endpoint,
				"--environment_type=EXTERNAL",
				"--environment_config=" + pool.addr,
				"--worker_binary=" + bin,
				"--job_name=" + jobName,
			}))
			t.Logf("out of process: %s", time.Since(start).Round(time.Millisecond))

			checkWorkers(t, pool.workers()[first:], bin, jobName, map[int]string{
				launcher: "the launcher", prism.pid: "the Prism job server", os.Getpid(): "the test",
			})
			compareOutputs(t, inProcess, out)
		})
	}
}

// buildBinaries builds the two pipelines, Prism's job server and the Go SDK
// boot loader into dir with one go build, and returns their paths by name.
func buildBinaries(t *testing.T, dir string) map[string]string {
	t.Helper()
	return build(t, dir, "./pipelines/ingest", "./pipelines/score", prismPkg, bootPkg)
}

// build builds packages into dir with one go build and returns the paths of
// the binaries by name (the last element of each package path).
func build(t *testing.T, dir string, pkgs ...string) map[string]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the pipelines with")
	}
	root, err := moduleRoot(goBin)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(goBin, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Logf("built the binaries in %s", time.Since(start).Round(time.Millisecond))
	bins := map[string]string{}
	for _, p := range pkgs {
		bins[path.Base(p)] = filepath.Join(dir, path.Base(p))
	}
	return bins
}

func moduleRoot(goBin string) (string, error) {
	b, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not in a module")
	}
	return filepath.Dir(mod), nil
}

// runBinary runs a pipeline binary to completion and returns its PID. Its
// output goes to the test log.
func runBinary(t *testing.T, bin string, args []string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("%s %s\n%s", filepath.Base(bin), strings.Join(args, " "), out.Bytes())
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in %s", filepath.Base(bin), runTimeout)
	}
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return cmd.Process.Pid
}

type prismServer struct {
	endpoint string // 127.0.0.1:port
	pid      int
}

// startPrism starts Beam's standalone Prism job server on a port the kernel
// picks (--job_port=0), reads the port from its first log line, and stops it
// when the test ends. The job server listens on all interfaces (cmd/prism has
// no flag to choose one); the launchers connect to it on 127.0.0.1. Its log,
// which includes the SDK workers' logs, is kept in dir/prism.log and printed
// when the test fails.
func startPrism(t *testing.T, bin, dir string) prismServer {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prism.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--job_port=0", "--serve_http=false", "--log_kind=json", "--log_level=info")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		logFile.Close()
		if t.Failed() {
			printTail(t, logPath)
		}
	})

	endpoint := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			logFile.Write(append(sc.Bytes(), '\n'))
			var rec struct {
				Msg      string `json:"msg"`
				Endpoint string `json:"endpoint"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "Serving JobManagement" {
				select {
				case endpoint <- rec.Endpoint:
				default:
				}
			}
		}
		io.Copy(logFile, stderr)
		cmd.Wait()
	}()
	select {
	case ep := <-endpoint:
		_, port, err := net.SplitHostPort(ep)
		if err != nil {
			t.Fatalf("Prism's endpoint %q: %v", ep, err)
		}
		return prismServer{endpoint: net.JoinHostPort("127.0.0.1", port), pid: cmd.Process.Pid}
	case <-exited:
		t.Fatal("the Prism job server exited before serving")
	case <-time.After(time.Minute):
		t.Fatal("the Prism job server did not start in a minute")
	}
	panic("unreachable")
}

// workerPool is a Beam external worker pool (the BeamFnExternalWorkerPool
// service that --environment_type=EXTERNAL points the runner to), like the
// Go SDK's container/pool, which `boot --worker_pool` serves on the fixed port
// 50000. This one listens on a free port of 127.0.0.1 and gives each worker its
// own working and --semi_persist_dir folder (the boot loader writes
// pipeline_options.json into its working directory and the staged binary
// under --semi_persist_dir, /tmp by default) and its own process group, since
// the boot loader runs the worker as a child that outlives a killed boot loader.
//
// Why not --environment_type=PROCESS with the boot loader as the command: in
// Beam v2.77 Prism starts that command with --id='<worker id>', quotes
// included (no shell strips them), so the boot loader's provisioning request
// is refused (the quoted id is "not registered in worker pool") and the job
// then hangs; and Prism kills only the boot loader at the end of
// a job, leaving the worker it started running. Prism passes the worker id
// unquoted in StartWorkerRequest.
type workerPool struct {
	fnpb.UnimplementedBeamFnExternalWorkerPoolServer
	t    *testing.T
	boot string
	dir  string
	addr string

	mu      sync.Mutex
	started []*poolWorker
	byID    map[string]*poolWorker
}

// poolWorker is one worker the pool started: the boot loader's process and
// what the pool saw of its children.
type poolWorker struct {
	id       string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	children map[int]procInfo
}

type procInfo struct {
	pid  int
	exe  string   // the target of /proc/PID/exe
	args []string // /proc/PID/cmdline
}

func startWorkerPool(t *testing.T, boot, dir string) *workerPool {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &workerPool{t: t, boot: boot, dir: dir, addr: lis.Addr().String(), byID: map[string]*poolWorker{}}
	srv := grpc.NewServer()
	fnpb.RegisterBeamFnExternalWorkerPoolServer(srv, p)
	go srv.Serve(lis)
	t.Cleanup(func() {
		srv.Stop()
		for _, w := range p.workers() {
			w.stop()
			os.RemoveAll(w.dir) // holds a copy of the staged binary
			// The boot loader copies the worker binary to /tmp/bin*/worker
			// (os.MkdirTemp("/tmp/", "bin*"), whatever TMPDIR says) and
			// leaves it there.
			for _, c := range w.seen() {
				if d := filepath.Dir(c.exe); filepath.Base(c.exe) == "worker" && strings.HasPrefix(d, "/tmp/bin") {
					os.RemoveAll(d)
				}
			}
		}
		if t.Failed() {
			for _, w := range p.workers() {
				printTail(t, filepath.Join(w.dir+".log"))
			}
		}
	})
	return p
}

func (p *workerPool) workers() []*poolWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.started)
}

// StartWorker runs the boot loader with the endpoints Prism gives.
func (p *workerPool) StartWorker(_ context.Context, req *fnpb.StartWorkerRequest) (*fnpb.StartWorkerResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byID[req.GetWorkerId()]; ok {
		return &fnpb.StartWorkerResponse{Error: fmt.Sprintf("worker %q already started", req.GetWorkerId())}, nil
	}
	w := &poolWorker{id: req.GetWorkerId(), dir: filepath.Join(p.dir, fmt.Sprintf("worker-%d", len(p.started))),
		exited: make(chan struct{}), stopped: make(chan struct{}), children: map[int]procInfo{}}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return &fnpb.StartWorkerResponse{Error: err.Error()}, nil
	}
	log, err := os.Create(w.dir + ".log")
	if err != nil {
		return &fnpb.StartWorkerResponse{Error: err.Error()}, nil
	}
	w.cmd = exec.Command(p.boot,
		"--id="+req.GetWorkerId(),
		"--control_endpoint="+req.GetControlEndpoint().GetUrl(),
		"--artifact_endpoint="+req.GetArtifactEndpoint().GetUrl(),
		"--provision_endpoint="+req.GetProvisionEndpoint().GetUrl(),
		"--logging_endpoint="+req.GetLoggingEndpoint().GetUrl(),
		"--semi_persist_dir="+w.dir,
	)
	w.cmd.Dir = w.dir
	w.cmd.Stdout, w.cmd.Stderr = log, log
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		log.Close()
		return &fnpb.StartWorkerResponse{Error: err.Error()}, nil
	}
	p.started = append(p.started, w)
	p.byID[w.id] = w
	go func() {
		w.cmd.Wait()
		log.Close()
		close(w.exited)
	}()
	go w.watch()
	return &fnpb.StartWorkerResponse{}, nil
}

// StopWorker kills the worker's process group: the boot loader and the
// pipeline binary it runs. Prism calls it when the job ends.
func (p *workerPool) StopWorker(_ context.Context, req *fnpb.StopWorkerRequest) (*fnpb.StopWorkerResponse, error) {
	p.mu.Lock()
	w, ok := p.byID[req.GetWorkerId()]
	p.mu.Unlock()
	if !ok {
		return &fnpb.StopWorkerResponse{Error: fmt.Sprintf("no worker %q", req.GetWorkerId())}, nil
	}
	w.stop()
	return &fnpb.StopWorkerResponse{}, nil
}

func (w *poolWorker) stop() {
	w.stopOnce.Do(func() {
		w.scan() // the worker may still be alive: look at it once more
		close(w.stopped)
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	})
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
	}
}

// watch records the boot loader's children until the worker is stopped.
func (w *poolWorker) watch() {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		w.scan()
		select {
		case <-w.stopped:
			return
		case <-w.exited:
			return
		case <-tick.C:
		}
	}
}

func (w *poolWorker) scan() {
	for _, pid := range childrenOf(w.cmd.Process.Pid) {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		// Before it execs, a child still shows the boot loader's command
		// line: keep the latest view.
		w.mu.Lock()
		w.children[pid] = procInfo{pid: pid, exe: exe, args: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")}
		w.mu.Unlock()
	}
}

func (w *poolWorker) seen() []procInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ps []procInfo
	for _, p := range w.children {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].pid < ps[j].pid })
	return ps
}

// childrenOf lists the PIDs of pid's children: from
// /proc/PID/task/*/children where the kernel has it, else by scanning the
// parent field of every /proc/*/stat.
func childrenOf(pid int) []int {
	var kids []int
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if len(files) > 0 {
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, s := range strings.Fields(string(b)) {
				if k, err := strconv.Atoi(s); err == nil {
					kids = append(kids, k)
				}
			}
		}
		return kids
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			if k, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// checkWorkers asserts that the runner started at least one worker through
// the pool, and that each ran a copy of bin in worker mode in a process of
// its own.
func checkWorkers(t *testing.T, workers []*poolWorker, bin, jobName string, notPIDs map[int]string) {
	t.Helper()
	if len(workers) == 0 {
		t.Fatal("the job server started no worker through the worker pool")
	}
	want := fileSHA256(t, bin)
	for _, w := range workers {
		// Prism names a job's workers job-NNN[<job name>]_<environment>.
		if !strings.Contains(w.id, "["+jobName+"]") {
			t.Errorf("worker %s was not started for job %s", w.id, jobName)
		}
		var ok bool
		for _, c := range w.seen() {
			if !slices.Contains(c.args, "--worker=true") {
				continue
			}
			if !slices.Contains(c.args, "--id="+w.id) {
				t.Errorf("worker %s: process %d runs as another worker: %q", w.id, c.pid, c.args)
			}
			if who, bad := notPIDs[c.pid]; bad {
				t.Errorf("worker %s: the worker process %d is %s", w.id, c.pid, who)
			}
			if got := fileSHA256(t, strings.TrimSuffix(c.exe, " (deleted)")); got != want {
				t.Errorf("worker %s: process %d runs %s, not a copy of %s", w.id, c.pid, c.exe, bin)
			}
			t.Logf("worker %s: boot loader pid %d, worker pid %d: %s", w.id, w.cmd.Process.Pid, c.pid, strings.Join(c.args, " "))
			ok = true
		}
		if !ok {
			t.Errorf("worker %s: no process with --worker=true seen under the boot loader (pid %d); saw %v", w.id, w.cmd.Process.Pid, w.seen())
		}
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// compareOutputs asserts that two output folders hold the same files with
// the same bytes.
func compareOutputs(t *testing.T, wantDir, gotDir string) {
	t.Helper()
	want, got := outputFiles(t, wantDir), outputFiles(t, gotDir)
	if len(want) == 0 {
		t.Fatalf("%s is empty", wantDir)
	}
	var names []string
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: written in process, missing out of process", name)
		case !bytes.Equal(g, want[name]):
			t.Errorf("%s differs: %d bytes in process, %d out of process", name, len(want[name]), len(g))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: written out of process only", name)
		}
	}
	t.Logf("%d files compared", len(names))
}

func outputFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// printTail logs the end of a log file.
func printTail(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	t.Logf("%s:\n%s", path, b)
}
