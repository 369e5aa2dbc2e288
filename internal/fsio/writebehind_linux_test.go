package fsio

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteBehind writes a file many chunks long in uneven pieces: the
// content must be intact and the flush bookkeeping must have advanced.
func TestWriteBehind(t *testing.T) {
	defer func(c int64) { writeBehindChunk = c }(writeBehindChunk)
	writeBehindChunk = 64 << 10
	data := make([]byte, 1<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), "big.bin")
	var wb *writeBehind
	err := WriteAtomic(context.Background(), p, func(w io.Writer) error {
		wb = w.(*writeBehind)
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(100<<10))
			if _, err := w.Write(rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content differs (%d bytes read, %v)", len(got), err)
	}
	if wb.off != int64(len(data)) || wb.flushed < int64(len(data))-writeBehindChunk || wb.dropped == 0 {
		t.Errorf("off %d flushed %d dropped %d", wb.off, wb.flushed, wb.dropped)
	}
}
