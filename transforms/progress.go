package transforms

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports the images processed by the shard writers of this process
// on stderr: count, rate and ETA, every few seconds. On a distributed runner
// each worker reports its own share into its log.
var progress = &progressLine{out: os.Stderr, every: 2 * time.Second}

type progressLine struct {
	out   io.Writer
	every time.Duration

	once  sync.Once
	total atomic.Int64
	done  atomic.Int64
	begin time.Time
}

// start begins reporting, once per process, towards total images.
func (p *progressLine) start(total int) {
	p.total.Store(int64(total))
	p.once.Do(func() {
		p.begin = time.Now()
		go p.loop()
	})
}

func (p *progressLine) add(n int) { p.done.Add(int64(n)) }

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
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	return fmt.Sprintf("ingest: %d/%d images (%.0f%%), %.0f images/s, ETA %s", done, total, pct, rate, eta)
}
