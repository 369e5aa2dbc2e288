//go:build xla

package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"

	"github.com/facepipe/facepipe/internal/pjrtinstall"
)

// XLABuilt reports whether this binary has GoMLX's XLA backend (-tags xla).
const XLABuilt = true

// openXLA opens GoMLX's XLA backend on the PJRT plugin options names ("cpu",
// "cuda", or a plugin's absolute path; "" picks cuda where there is an
// NVIDIA GPU, else cpu), installing a missing cpu or cuda plugin first
// unless GOMLX_NO_AUTO_INSTALL is set.
func openXLA(options string) (compute.Backend, error) {
	// go-xla's own auto-install would try every plugin and log its failures
	// with stack traces; this installs the one plugin asked for, or says in
	// one line why it can't.
	xla.EnableAutoInstall(false)
	plugin, rest, _ := strings.Cut(options, ",")
	if plugin == "" {
		plugin = "cpu"
		if hasNvidiaGPU() {
			plugin = "cuda"
		}
		options = plugin + "," + rest
	}
	if !filepath.IsAbs(plugin) {
		if plugin == "cuda" && !hasNvidiaGPU() {
			return nil, errors.New("no NVIDIA GPU on this machine (no /dev/nvidia* device): use xla:cpu or onnx:cpu")
		}
		if !pluginAvailable(plugin) {
			if err := installPlugin(plugin); err != nil {
				return nil, err
			}
		}
	}
	return xla.New(options)
}

// pluginAvailable reports whether the PJRT loader finds the plugin (a
// versioned file such as pjrt_c_api_cpu_v0.114.0_plugin.so counts).
func pluginAvailable(name string) bool {
	for p := range pjrt.AvailablePlugins() {
		if p == name || strings.HasPrefix(p, name+"_v") {
			return true
		}
	}
	return false
}

func installPlugin(plugin string) error {
	where := fmt.Sprintf("or set PJRT_PLUGIN_LIBRARY_PATH to a folder holding pjrt_c_api_%s_plugin.so", plugin)
	if !slices.Contains(pjrtinstall.Plugins, plugin) {
		return fmt.Errorf("PJRT plugin %q is not installed: put it in %s, %s", plugin, pjrtinstall.Dir(), where)
	}
	if noAutoInstall {
		return fmt.Errorf("PJRT plugin %q is not installed and GOMLX_NO_AUTO_INSTALL is set: "+
			"run `go run ./scripts/installpjrt %s` (it installs into %s), %s", plugin, plugin, pjrtinstall.Dir(), where)
	}
	fmt.Fprintf(os.Stderr, "installing XLA's PJRT plugin %q into %s from %s (once)\n", plugin, pjrtinstall.Dir(), pjrtinstall.Host(plugin))
	if err := pjrtinstall.Install(plugin); err != nil {
		return err
	}
	if !pluginAvailable(plugin) {
		return fmt.Errorf("PJRT plugin %q was installed into %s but does not load", plugin, pjrtinstall.Dir())
	}
	return nil
}
