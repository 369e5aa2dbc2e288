package transforms

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports on stderr how many inputs this process has settled (written
// or rejected) out of those listed: count, rate and ETA, every few seconds.
// It is process-wide on purpose: on the embedded runners the listing and the
// shard writers share the process. On a distributed runner each worker
// reports its own share into its log, without a total.
var progress = &progressLine{out: os.Stderr, every: 2 * time.Second, label: "ingest"}

type progressLine struct {
	out   io.Writer
	every time.Duration
	label string

	once  sync.Once
	total atomic.Int64
	done  atomic.Int64
	begin time.Time
}

// start begins reporting, once per process, towards total inputs.
func (p *progressLine) start(total int) {
	p.total.Store(int64(total))
	p.done.Store(0)
	p.once.Do(func() {
		p.begin = time.Now()
		go p.loop()
	})
}

func (p *progressLine) add(n int) {
	p.done.Add(int64(n))
	p.once.Do(func() {
		p.begin = time.Now()
		go p.loop()
	})
}

func (p *progressLine) loop() {
	last := int64(-1)
	for {
		time.Sleep(p.every)
		done, total := p.done.Load(), p.total.Load()
		if done == last {
			continue
		}
		last = done
		fmt.Fprintln(p.out, p.line(done, total, time.Since(p.begin)))
	}
}

// line formats one progress report.
func (p *progressLine) line(done, total int64, elapsed time.Duration) string {
	rate := float64(done) / elapsed.Seconds()
	eta := "?"
	if rate > 0 && total >= done {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	if total <= 0 {
		return fmt.Sprintf("%s: %d images, %.0f images/s", p.label, done, rate)
	}
	pct := 100 * float64(done) / float64(total)
	return fmt.Sprintf("%s: %d/%d images (%.0f%%), %.0f images/s, ETA %s", p.label, done, total, pct, rate, eta)
}
