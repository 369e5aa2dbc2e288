package interrupt

import (
	"os"
	"slices"
	"syscall"
	"testing"
)

// TestRunOrderAndExitCodes: the handlers run last registered first, each
// once, an unregistered one not at all; the exit statuses are the shell's.
func TestRunOrderAndExitCodes(t *testing.T) {
	var got []string
	OnSignal(func(os.Signal) { got = append(got, "first") })
	drop := OnSignal(func(os.Signal) { got = append(got, "dropped") })
	OnSignal(func(s os.Signal) { got = append(got, "last "+s.String()) })
	drop()
	Run(syscall.SIGTERM)
	Run(syscall.SIGTERM)
	if want := []string{"last terminated", "first"}; !slices.Equal(got, want) {
		t.Errorf("handlers ran %q, want %q", got, want)
	}
	if ExitCode(syscall.SIGINT) != 130 || ExitCode(syscall.SIGTERM) != 143 {
		t.Errorf("exit codes %d and %d, want 130 and 143", ExitCode(syscall.SIGINT), ExitCode(syscall.SIGTERM))
	}
}
