// Package profile writes the CPU and heap profiles that the pipelines'
// --cpuprofile and --memprofile flags ask for.
package profile

import (
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// peakInterval is how often the heap watcher samples the live heap.
const peakInterval = 200 * time.Millisecond

// Start starts a CPU profile into cpuFile when it is not empty. When memFile
// is not empty, it watches the live heap and keeps a heap profile taken at its
// peak: a pipeline frees most of its memory before it ends, so a profile
// taken at the end would miss what drove its peak RSS. The returned stop
// function ends the CPU profile and writes the peak heap profile.
func Start(cpuFile, memFile string) (stop func(), err error) {
	var cpu *os.File
	if cpuFile != "" {
		if cpu, err = os.Create(cpuFile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, err
		}
	}
	var w *peakWatcher
	if memFile != "" {
		w = watchPeak(peakInterval)
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if w != nil {
			prof, peak := w.stop()
			if err := os.WriteFile(memFile, prof, 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "memprofile: %v\n", err)
				return
			}
			fmt.Fprintf(os.Stderr, "memprofile: %s, taken at the peak live heap of %d MB\n", memFile, peak>>20)
		}
	}, nil
}

// liveHeap is the heap marked live by the last GC.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakWatcher keeps the heap profile of the highest live heap seen.
type peakWatcher struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak uint64
	prof []byte
}

func watchPeak(every time.Duration) *peakWatcher {
	w := &peakWatcher{done: make(chan struct{})}
	w.sample()
	w.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.sample()
			}
		}
	})
	return w
}

// sample takes a new profile when the live heap grew by more than 5% over
// the peak so far (the heap profile describes the last GC, as liveHeap does).
func (w *peakWatcher) sample() {
	live := liveHeap()
	if w.prof != nil && live <= w.peak+w.peak/20 {
		return
	}
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		return
	}
	w.peak, w.prof = live, b.Bytes()
}

// stop ends the watcher and returns the peak profile and live heap.
func (w *peakWatcher) stop() ([]byte, uint64) {
	close(w.done)
	w.wg.Wait()
	w.sample()
	return w.prof, w.peak
}
