package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// DefinedFlags returns the names of the flags defined so far on the command
// line's flag set. A pipeline's main takes it as its first package-level
// variable, before it defines its own flags: Go initializes the imported
// packages, which define Beam's runner and Dataflow flags, first, and then
// main's variables in the order they are declared.
func DefinedFlags() map[string]bool {
	names := map[string]bool{}
	flag.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// workerFlags are the flags that a runner passes to the binary when it
// starts it as a worker: never set by hand.
var workerFlags = []string{"worker", "id", "control_endpoint", "logging_endpoint", "semi_persist_dir", "options"}

// Help describes a pipeline binary for its -help output.
type Help struct {
	Name     string   // the binary's name
	About    string   // what it does, a few lines
	Usage    string   // the synopsis, without the name
	Examples []string // command lines
	// Runner names the flags that are not the binary's own, Beam's runner
	// and Dataflow flags (DefinedFlags taken before the binary defined
	// its own); nil for a binary without Beam.
	Runner map[string]bool
}

// SetUsage makes h the -help output of the command line: what the binary
// does, examples, its own flags with their defaults, then Beam's runner and
// Dataflow flags apart. Parse, in place of flag.Parse, keeps a mistake short.
func SetUsage(h Help) {
	usageName = h.Name
	flag.CommandLine.Usage = func() { h.Write(flag.CommandLine.Output(), flag.CommandLine) }
}

// Write writes the help of the flags of fs.
func (h Help) Write(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s %s\n\nExamples:\n", h.Name, strings.TrimSpace(h.About), h.Name, h.Usage)
	for _, e := range h.Examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	own := flag.NewFlagSet(h.Name, flag.ContinueOnError)
	runner := flag.NewFlagSet(h.Name, flag.ContinueOnError)
	var worker []string
	fs.VisitAll(func(f *flag.Flag) {
		switch {
		case !h.Runner[f.Name]:
			own.Var(f.Value, f.Name, f.Usage)
			own.Lookup(f.Name).DefValue = f.DefValue
		case slices.Contains(workerFlags, f.Name):
			worker = append(worker, "--"+f.Name)
		default:
			runner.Var(f.Value, f.Name, runnerUsage(f))
			runner.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	fmt.Fprintf(w, "\nFlags:\n")
	own.SetOutput(w)
	own.PrintDefaults()
	if h.Runner == nil {
		return
	}
	fmt.Fprintf(w, "\nRunner and Dataflow flags (Apache Beam's; --runner=dataflow needs --project, --region and --staging_location):\n")
	runner.SetOutput(w)
	runner.PrintDefaults()
	if len(worker) > 0 {
		fmt.Fprintf(w, "\nSet by a runner that starts this binary as its worker: %s\n", strings.Join(worker, ", "))
	}
}

// runnerUsage is the help line of one of Beam's flags, made to fit a binary
// whose default runner is the embedded one: Dataflow's "required" flags are
// required on Dataflow only.
func runnerUsage(f *flag.Flag) string {
	u := f.Usage
	switch f.Name {
	case "runner":
		return "where the pipeline runs: prism (embedded, in this process), dataflow (Google Cloud Dataflow), " +
			"universal (a job server at --endpoint), direct (deprecated)"
	case "region", "staging_location", "project":
		u = strings.NewReplacer(" (required).", "", " (required)", "", "(required)", "").Replace(u)
		return strings.TrimSuffix(u, ".") + " (Dataflow: required)"
	case "endpoint":
		return strings.Replace(u, "(required)", "(with --runner=universal)", 1)
	}
	return u
}

// SetRunnerDefault makes the default of Beam's --runner flag explicit,
// prism, so that -help shows it: Beam defines the flag empty and picks
// prism for an empty value.
func SetRunnerDefault() {
	if f := flag.Lookup("runner"); f != nil && f.Value.String() == "" {
		f.Value.Set("prism")
		f.DefValue = "prism"
	}
}

// OnOffAuto is a flag that is on, off or auto. It is also a boolean flag:
// -name alone means on, and true/false (1/0) mean on/off.
type OnOffAuto string

// String returns the value: on, off or auto.
func (v *OnOffAuto) String() string { return string(*v) }

// Set accepts on, off, auto, and the boolean spellings of on and off.
func (v *OnOffAuto) Set(s string) error {
	switch strings.ToLower(s) {
	case "on", "true", "t", "1":
		*v = "on"
	case "off", "false", "f", "0":
		*v = "off"
	case "auto":
		*v = "auto"
	default:
		return fmt.Errorf("%q: want auto, on or off", s)
	}
	return nil
}

// IsBoolFlag lets -name stand alone, meaning on.
func (v *OnOffAuto) IsBoolFlag() bool { return true }
