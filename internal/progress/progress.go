// Package progress prints a pipeline's progress line on stderr: how many
// inputs this process has settled (written, scored or rejected) out of
// those listed, with the rate and an ETA, every few seconds.
//
// It is process-wide on purpose: on the embedded runners the listing and the
// workers share the process. On a distributed runner each worker reports its
// own share into its log, without a total.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

var std = &line{out: os.Stderr, every: 2 * time.Second, label: "ingest"}

// Start names the pipeline ("ingest", "score") and sets the total towards
// which the line counts; the line starts with the first Start or Add.
func Start(label string, total int) {
	std.mu.Lock()
	std.label = label
	std.mu.Unlock()
	std.total.Store(int64(total))
	std.done.Store(0)
	std.once.Do(std.begin)
}

// Add counts n more settled inputs.
func Add(n int) {
	std.done.Add(int64(n))
	std.once.Do(std.begin)
}

type line struct {
	out   io.Writer
	every time.Duration

	mu    sync.Mutex
	label string

	once  sync.Once
	total atomic.Int64
	done  atomic.Int64
	start time.Time
}

func (p *line) begin() {
	p.start = time.Now()
	go p.loop()
}

func (p *line) loop() {
	last := int64(-1)
	for {
		time.Sleep(p.every)
		done, total := p.done.Load(), p.total.Load()
		if done == last {
			continue
		}
		last = done
		fmt.Fprintln(p.out, p.format(done, total, time.Since(p.start)))
	}
}

// format formats one progress report.
func (p *line) format(done, total int64, elapsed time.Duration) string {
	p.mu.Lock()
	label := p.label
	p.mu.Unlock()
	rate := float64(done) / elapsed.Seconds()
	eta := "?"
	if rate > 0 && total >= done {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	if total <= 0 {
		return fmt.Sprintf("%s: %d images, %.0f images/s", label, done, rate)
	}
	pct := 100 * float64(done) / float64(total)
	return fmt.Sprintf("%s: %d/%d images (%.0f%%), %.0f images/s, ETA %s", label, done, total, pct, rate, eta)
}
