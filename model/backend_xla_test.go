//go:build xla

package model

import (
	"strings"
	"testing"
)

// TestXLAPluginMissing: an XLA plugin that is not installed fails at start in
// one line that says what to install and where, without a download when
// GOMLX_NO_AUTO_INSTALL is set.
func TestXLAPluginMissing(t *testing.T) {
	tests := []struct {
		config string
		want   []string
	}{
		{"xla:nosuchplugin", []string{`PJRT plugin "nosuchplugin" is not installed`, "PJRT_PLUGIN_LIBRARY_PATH", "pjrt_c_api_nosuchplugin_plugin.so"}},
		{"xla:cpu", []string{`PJRT plugin "cpu" is not installed and GOMLX_NO_AUTO_INSTALL is set`, "go run ./scripts/installpjrt cpu", ".local/lib/go-xla"}},
	}
	saved := noAutoInstall
	noAutoInstall = true
	defer func() { noAutoInstall = saved }()
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			plugin := strings.TrimPrefix(tt.config, "xla:")
			if pluginAvailable(plugin) {
				t.Skipf("the PJRT plugin %q is installed here", plugin)
			}
			b, _, err := NewBackend(tt.config)
			if err == nil {
				b.Finalize()
				t.Fatalf("NewBackend(%q) opened, want an error", tt.config)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nwant it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
		})
	}
}

// TestXLAOnCPU: with the PJRT CPU plugin installed, xla:cpu opens, runs a
// computation and says which plugin it loaded.
func TestXLAOnCPU(t *testing.T) {
	if !pluginAvailable("cpu") {
		t.Skip("the PJRT CPU plugin is not installed: go run ./scripts/installpjrt cpu")
	}
	b, config, err := NewBackend("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if b.Name() != "xla" || config != "xla:cpu" || !strings.Contains(b.Description(), "cpu") {
		t.Errorf("NewBackend(xla:cpu) = %s %q (%s)", b.Name(), config, b.Description())
	}
}
