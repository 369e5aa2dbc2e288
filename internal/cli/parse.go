package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// usageName is the binary's name that SetUsage was given, for Parse's
// messages.
var usageName string

// Parse parses the command line as flag.Parse does, except on a mistake:
// instead of the whole -help text, which buries the error under a hundred
// lines of Beam's flags, it prints at most three lines (the error, the
// closest flag names when the flag is unknown, and where the help is) and
// exits with status 2. -help and -h print the help and exit with status 0.
func Parse() {
	name := usageName
	if name == "" {
		name = flag.CommandLine.Name()
	}
	if code, done := ParseArgs(flag.CommandLine, name, os.Args[1:], os.Stderr); done {
		os.Exit(code)
	}
}

// ParseArgs parses args into fs. On -help it writes fs's usage and returns
// 0, true; on a mistake it writes the short report of Parse to w and
// returns 2, true; else it returns 0, false and the program goes on.
func ParseArgs(fs *flag.FlagSet, name string, args []string, w io.Writer) (code int, done bool) {
	usage, out := fs.Usage, fs.Output()
	fs.Init(fs.Name(), flag.ContinueOnError) // keeps the flags; only how errors are handled changes
	fs.Usage = func() {}
	fs.SetOutput(io.Discard) // the flag package's own error line: we write ours
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
		return 0, true
	}
	for _, l := range ParseError(fs, name, err) {
		fmt.Fprintf(w, "%s\n", l)
	}
	return 2, true
}

// ParseError is the short report of a command line fs did not parse: the
// error, the closest flag names when the flag is unknown, and where the
// help is. At most three lines.
func ParseError(fs *flag.FlagSet, name string, err error) []string {
	msg := err.Error()
	const unknown = "flag provided but not defined: -"
	if typed, ok := strings.CutPrefix(msg, unknown); ok {
		lines := []string{fmt.Sprintf("%s: unknown flag --%s", name, typed)}
		if s := Suggest(fs, typed); len(s) > 0 {
			for i := range s {
				s[i] = "--" + s[i]
			}
			lines = append(lines, fmt.Sprintf("%s: did you mean %s?", name, orList(s)))
		}
		return append(lines, fmt.Sprintf("%s: run with --help for more", name))
	}
	// "invalid value "x" for flag -limit: parse error" and the like name
	// flags with one dash; this project writes them with two.
	msg = strings.NewReplacer("flag -", "flag --", ": -", ": --").Replace(msg)
	return []string{fmt.Sprintf("%s: %s", name, OneLine(msg)), fmt.Sprintf("%s: run with --help for more", name)}
}

// orList joins names as "a", "a or b", "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Suggest returns up to three of fs's flags closest to the unknown name
// typed, nearest first: those within a few edits of it (a letter missing,
// extra, wrong, or two swapped; case and - against _ don't count), and
// those it starts or that start it. The flags a runner sets on its workers
// are never suggested.
func Suggest(fs *flag.FlagSet, typed string) []string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	t := norm(strings.TrimLeft(strings.SplitN(typed, "=", 2)[0], "-"))
	if t == "" {
		return nil
	}
	limit := max(1, min(3, len([]rune(t))/3))
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(workerFlags, f.Name) {
			return
		}
		n := norm(f.Name)
		d := editDistance(t, n)
		prefix := len(t) >= 3 && len(n) >= 3 && (strings.HasPrefix(n, t) || strings.HasPrefix(t, n))
		if d <= limit || prefix {
			cands = append(cands, cand{f.Name, d})
		}
	})
	slices.SortFunc(cands, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	var names []string
	for _, c := range cands[:min(3, len(cands))] {
		names = append(names, c.name)
	}
	return names
}

// editDistance is the optimal string alignment distance of a and b: the
// fewest insertions, deletions, substitutions and swaps of two adjacent
// letters that turn one into the other.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
