package profile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestPeakProfile checks that the heap profile is the one of the peak, not of
// the end: a 64 MB block held for a while and then freed must show in the
// recorded peak.
func TestPeakProfile(t *testing.T) {
	w := watchPeak(5 * time.Millisecond)
	block := make([]byte, 64<<20)
	for i := range block {
		block[i] = byte(i)
	}
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	runtime.KeepAlive(block)
	block = nil
	runtime.GC()
	prof, peak := w.stop()
	if now := liveHeap(); peak < 64<<20 || now > peak-32<<20 {
		t.Errorf("peak live heap %d MB, now %d MB: want a peak of at least 64 MB, well above now", peak>>20, now>>20)
	}
	if !bytes.HasPrefix(prof, []byte{0x1f, 0x8b}) {
		t.Errorf("profile is not a gzipped pprof profile: % x", prof[:min(len(prof), 8)])
	}
}

func TestStartWritesFiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	stop, err := Start(cpu, mem)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for _, f := range []string{cpu, mem} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v, want a non-empty profile", f, err)
		}
	}
}
