// Package pjrtinstall installs the PJRT plugins that GoMLX's XLA backend
// (github.com/gomlx/go-xla/compute/xla) loads, through go-xla's own
// installer, with a one-line error where the download host can't be
// reached. It needs no cgo, so scripts/installpjrt can run it from any build.
//
// The plugins come from:
//   - cpu: the pjrt-cpu-binaries releases on GitHub, at the version that
//     go-xla pins (no digest is published for them: go-xla checks none);
//   - cuda: JAX's jax-cuda13-pjrt wheel and the NVIDIA library wheels it
//     depends on, from pypi.org, each checked against the sha256 that pypi.org
//     publishes (several GB, CUDA 13; the machine needs only the NVIDIA
//     driver).
//
// They go to ~/.local/lib/go-xla (cuda in its nvidia/ folder), where the XLA
// backend looks first.
package pjrtinstall

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/go-xla/installer"
)

// Plugins are the plugins Install knows.
var Plugins = []string{"cpu", "cuda"}

// Dir is where Install puts the plugins: ~/.local/lib/go-xla.
func Dir() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "lib", "go-xla")
}

// hosts are the hosts the plugins come from (a variable for tests).
var hosts = map[string]string{"cpu": "github.com", "cuda": "pypi.org"}

// Host is the host a plugin is downloaded from.
func Host(plugin string) string { return hosts[plugin] }

// Installed reports whether the plugin's library is where Install puts it.
func Installed(plugin string) bool {
	var pattern string
	switch plugin {
	case "cuda":
		pattern = filepath.Join(Dir(), "nvidia", installer.NVIDIAPJRTPluginFileName)
	case "cpu":
		pattern = filepath.Join(Dir(), "pjrt_c_api_cpu*plugin.so")
	default:
		return false
	}
	m, _ := filepath.Glob(pattern)
	return len(m) > 0
}

// Reachable checks within timeout that the plugin's download host answers,
// since go-xla's installer waits on the network without a time limit.
func Reachable(plugin string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "https://"+Host(plugin)+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s can't be reached: %w", Host(plugin), err)
	}
	resp.Body.Close()
	return nil
}

// Install downloads the plugin ("cpu" or "cuda") into Dir unless it is
// there already. A cuda install is skipped by go-xla on a machine without
// an NVIDIA GPU, so Install reports that instead. Its errors are one line.
func Install(plugin string) error {
	switch plugin {
	case "cpu", "cuda":
	default:
		return fmt.Errorf("unknown PJRT plugin %q: want one of %s", plugin, strings.Join(Plugins, ", "))
	}
	if Installed(plugin) {
		return nil
	}
	if err := Reachable(plugin, 10*time.Second); err != nil {
		return fmt.Errorf("PJRT plugin %q: %v: on a machine with internet access run "+
			"`go run ./scripts/installpjrt %s` and copy %s here", plugin, err, plugin, Dir())
	}
	if err := installer.AutoInstallPlugin(plugin, filepath.Dir(Dir()), true, installer.Normal); err != nil {
		return fmt.Errorf("PJRT plugin %q: %s", plugin, strings.Join(strings.Fields(err.Error()), " "))
	}
	if !Installed(plugin) {
		if plugin == "cuda" {
			return fmt.Errorf("PJRT plugin \"cuda\" was not installed: go-xla installs it only on a machine with an NVIDIA GPU (/dev/nvidia*)")
		}
		return fmt.Errorf("PJRT plugin %q was not installed into %s", plugin, Dir())
	}
	return nil
}
