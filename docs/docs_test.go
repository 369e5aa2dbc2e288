// Package docs holds the user documentation. Its tests keep the pages from
// drifting away from the code: the flag tables are generated from the
// binaries' own --help (go test ./docs -update rewrites them), every flag
// named in the pages exists, and every relative link and scripts/ path
// resolves.
package docs

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the flag tables of docs/*.md from the binaries' --help")

// binaries are the pipelines whose flags the pages document, each in
// docs/<name>.md.
var binaries = []string{"ingest", "train", "score"}

// helpFlag is one flag as --help describes it.
type helpFlag struct {
	name, typ, def, usage string
	runner                bool // one of Beam's runner and Dataflow flags
}

var (
	helpOnce sync.Once
	helpErr  error
	helps    map[string][]helpFlag
)

// flagsOf builds the binaries once and parses their --help.
func flagsOf(t *testing.T) map[string][]helpFlag {
	t.Helper()
	helpOnce.Do(func() {
		dir, err := os.MkdirTemp("", "facepipe-docs-")
		if err != nil {
			helpErr = err
			return
		}
		defer os.RemoveAll(dir)
		args := []string{"build", "-o", dir + string(filepath.Separator)}
		for _, b := range binaries {
			args = append(args, "./pipelines/"+b)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			helpErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		helps = map[string][]helpFlag{}
		for _, b := range binaries {
			out, _ := exec.Command(filepath.Join(dir, b), "--help").CombinedOutput()
			if helps[b], err = parseHelp(string(out)); err != nil {
				helpErr = fmt.Errorf("%s --help: %v", b, err)
				return
			}
		}
	})
	if helpErr != nil {
		t.Fatal(helpErr)
	}
	return helps
}

var (
	flagLine  = regexp.MustCompile(`^  -([a-z0-9_]+)(?: (\w+))?$`)
	defSuffix = regexp.MustCompile(` \(default (.*)\)$`)
)

// parseHelp reads the flags from the output of a binary's --help: Go's
// flag.PrintDefaults format, ours first, then a section of Beam's.
func parseHelp(out string) ([]helpFlag, error) {
	var flags []helpFlag
	runner := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Runner and Dataflow flags"):
			runner = true
		case flagLine.MatchString(line):
			m := flagLine.FindStringSubmatch(line)
			flags = append(flags, helpFlag{name: m[1], typ: m[2], runner: runner})
		case strings.HasPrefix(line, "    \t") && len(flags) > 0:
			f := &flags[len(flags)-1]
			f.usage = strings.TrimSpace(f.usage + " " + strings.TrimSpace(line))
		}
	}
	for i := range flags {
		f := &flags[i]
		if m := defSuffix.FindStringSubmatch(f.usage); m != nil {
			f.def, f.usage = strings.Trim(m[1], `"`), strings.TrimSuffix(f.usage, m[0])
		} else {
			switch f.typ {
			case "":
				f.def = "false"
			case "int", "float", "uint", "int64", "uint64":
				f.def = "0"
			}
		}
	}
	if len(flags) < 10 {
		return nil, fmt.Errorf("%d flags parsed: not the expected help", len(flags))
	}
	return flags, nil
}

// table renders a binary's own flags as the markdown table its page holds.
func table(flags []helpFlag) string {
	var b strings.Builder
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	for _, f := range flags {
		if f.runner {
			continue
		}
		def := ""
		if f.def != "" {
			def = "`" + f.def + "`"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.name, def, strings.ReplaceAll(f.usage, "|", `\|`))
	}
	return b.String()
}

const (
	tableStart = "<!-- flags: generated from --help by go test ./docs -update; do not edit -->\n"
	tableEnd   = "<!-- end of flags -->"
)

// TestFlagTables: each pipeline's page holds its flag table exactly as its
// --help gives the flags and defaults.
func TestFlagTables(t *testing.T) {
	all := flagsOf(t)
	for _, b := range binaries {
		page := b + ".md"
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		i, j := strings.Index(s, tableStart), strings.Index(s, tableEnd)
		if i < 0 || j < i {
			t.Errorf("%s: no generated flag table (%q … %q)", page, strings.TrimSpace(tableStart), tableEnd)
			continue
		}
		want := table(all[b])
		if got := s[i+len(tableStart) : j]; got != want {
			if *update {
				s = s[:i+len(tableStart)] + want + s[j:]
				if err := os.WriteFile(page, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s: its flag table differs from `%s --help` (go test ./docs -update rewrites it):\n%s", page, b, lineDiff(got, want))
		}
	}
}

// lineDiff lists the lines of got missing from want and the other way round.
func lineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for l := range g {
		if !w[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range w {
		if !g[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// scriptFlags are the flags the scripts define or pass: --name in shell and
// JavaScript files, flag.Type("name", ...) in Go files, under scripts/.
func scriptFlags(t *testing.T) map[string]bool {
	t.Helper()
	shell := regexp.MustCompile(`--([a-z][a-z0-9_]*)`)
	goFlag := regexp.MustCompile(`flag\.\w+\("([a-z][a-z0-9_]*)"`)
	out := map[string]bool{"help": true}
	err := filepath.WalkDir("../scripts", func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			if e != nil && e.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return err
		}
		re := shell
		switch filepath.Ext(p) {
		case ".go":
			re = goFlag
		case ".sh", ".js":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			out[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pages are the documentation files the checks read.
func pages(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pages: %v", err)
	}
	return append(files, "../README.md", "../models/README.md")
}

// TestNamedFlagsExist: every --flag the pages name is a flag of one of the
// binaries (ours or Beam's) or of a script.
func TestNamedFlagsExist(t *testing.T) {
	known := scriptFlags(t)
	for _, flags := range flagsOf(t) {
		for _, f := range flags {
			known[f.name] = true
		}
	}
	named := regexp.MustCompile(`(?:^|[\s` + "`" + `(\[])--([a-z][a-z0-9_]*)`)
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			for _, m := range named.FindAllStringSubmatch(line, -1) {
				if !known[m[1]] {
					t.Errorf("%s:%d: --%s is no flag of ingest, train, score or the scripts", p, n+1, m[1])
				}
			}
		}
	}
}

var (
	link       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	scriptPath = regexp.MustCompile(`\bscripts/[A-Za-z0-9_./-]*[A-Za-z0-9_]`)
	heading    = regexp.MustCompile(`^#+ (.*)$`)
)

// TestLinksResolve: every relative link of the pages names a file that
// exists and, after #, one of its headings; every scripts/ path they name
// exists.
func TestLinksResolve(t *testing.T) {
	for _, p := range pages(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				path := p
				if file != "" {
					path = filepath.Join(filepath.Dir(p), file)
				}
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d: link %s: %v", p, n+1, target, err)
					continue
				}
				if anchor != "" && !anchors(t, path)[anchor] {
					t.Errorf("%s:%d: link %s: no heading with anchor #%s in %s", p, n+1, target, anchor, path)
				}
			}
			for _, s := range scriptPath.FindAllString(line, -1) {
				if _, err := os.Stat(filepath.Join("..", s)); err != nil {
					t.Errorf("%s:%d: %s does not exist", p, n+1, s)
				}
			}
		}
	}
}

// anchors are the anchors GitHub gives the headings of a markdown file:
// lower case, punctuation dropped, spaces as hyphens, repeats numbered.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		m := heading.FindStringSubmatch(line)
		if fence || m == nil {
			continue
		}
		a := slug(m[1])
		if k := seen[a]; k > 0 {
			out[fmt.Sprintf("%s-%d", a, k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// slug is GitHub's anchor of a heading's text.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && !strings.ContainsRune("×–—’“”…·", r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestPagesOpenWithAnExample: the README fits in 150 lines, and every page
// of docs/ starts, after its title (and at most a line of lead-in), with a
// shell example.
func TestPagesOpenWithAnExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n > 150 {
		t.Errorf("README.md has %d lines, want at most 150: the reference belongs in docs/", n)
	}
	files, _ := filepath.Glob("*.md")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, l := range strings.Split(string(data), "\n")[1:] {
			if l = strings.TrimSpace(l); l != "" {
				text = append(text, l)
			}
		}
		if !strings.HasPrefix(string(data), "# ") {
			t.Errorf("%s: no title", p)
		}
		first := -1
		for i, l := range text {
			if l == "```sh" {
				first = i
				break
			}
		}
		if first < 0 || first > 1 {
			t.Errorf("%s: does not open with a shell example (```sh)", p)
		}
	}
}
