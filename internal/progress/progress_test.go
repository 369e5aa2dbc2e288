package progress

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	p := &line{label: "score"}
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{50, 200, 10 * time.Second, "score: 50/200 images (25%), 5 images/s, ETA 30s"},
		{0, 200, time.Second, "score: 0/200 images (0%), 0 images/s, ETA ?"},
		{200, 200, 4 * time.Second, "score: 200/200 images (100%), 50 images/s, ETA 0s"},
		{30, 0, 3 * time.Second, "score: 30 images, 10 images/s"},
	} {
		if got := p.format(tc.done, tc.total, tc.elapsed); got != tc.want {
			t.Errorf("format(%d, %d, %s) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}
