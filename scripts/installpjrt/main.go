// Command installpjrt installs the PJRT plugins that GoMLX's XLA backend
// (the train and score binaries built with -tags xla) loads, into
// ~/.local/lib/go-xla, through go-xla's installer (see internal/pjrtinstall:
// cpu from GitHub, cuda and its NVIDIA libraries from pypi.org). With no
// argument it installs cpu, and cuda where the machine has an NVIDIA GPU.
//
//	go run ./scripts/installpjrt cuda
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facepipe/facepipe/internal/pjrtinstall"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: installpjrt [cpu] [cuda]\ninstalls XLA's PJRT plugins into %s\n", pjrtinstall.Dir())
	}
	flag.Parse()
	plugins := flag.Args()
	if len(plugins) == 0 {
		plugins = []string{"cpu"}
		if m, _ := filepath.Glob("/dev/nvidia*"); len(m) > 0 {
			plugins = append(plugins, "cuda")
		}
	}
	for _, p := range plugins {
		if pjrtinstall.Installed(p) {
			fmt.Fprintf(os.Stderr, "installpjrt: %s is already installed in %s\n", p, pjrtinstall.Dir())
			continue
		}
		if err := pjrtinstall.Install(p); err != nil {
			fmt.Fprintf(os.Stderr, "installpjrt: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "installpjrt: %s installed in %s\n", p, pjrtinstall.Dir())
	}
}
