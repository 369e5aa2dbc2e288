package training

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress draws an epoch's progress: step, loss, images/s and ETA. On a
// terminal it redraws one line; otherwise it prints a line every few seconds.
type progress struct {
	w     io.Writer
	label string
	steps int
	batch int
	start time.Time
	last  time.Time
	tty   bool
	width int
	dirty bool
}

func newProgress(w io.Writer, label string, steps, batch int) *progress {
	p := &progress{w: w, label: label, steps: steps, batch: batch, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(step int, loss, lr float64) {
	now := time.Now()
	every := 10 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if step < p.steps && now.Sub(p.last) < every {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	rate := float64(step*p.batch) / el.Seconds()
	eta := time.Duration(float64(el) / float64(step) * float64(p.steps-step)).Round(time.Second)
	const barLen = 24
	filled := barLen * step / max(1, p.steps)
	line := fmt.Sprintf("%s [%s%s] %d/%d loss %.4f lr %.2e %.0f images/s ETA %s",
		p.label, strings.Repeat("=", filled), strings.Repeat(" ", barLen-filled), step, p.steps, loss, lr, rate, eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r%-*s", p.width, line)
		p.width = len(line)
		p.dirty = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.dirty {
		fmt.Fprintln(p.w)
	}
}
