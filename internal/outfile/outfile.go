// Package outfile writes the files a pipeline leaves under its output
// folder: atomically, each described by its size and sha256 for the
// manifest or summary that lists it, and Parquet tables among them.
package outfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/facepipe/facepipe/internal/fsio"
	"github.com/facepipe/facepipe/schemas"
)

// HashCounter passes writes through while counting the bytes and hashing
// them, for the byte size and sha256 that a manifest records of each file.
type HashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewHashCounter returns a HashCounter writing to w.
func NewHashCounter(w io.Writer) *HashCounter {
	return &HashCounter{w: w, h: sha256.New()}
}

// Write writes p to the underlying writer, counting and hashing what it took.
func (c *HashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Bytes is how many bytes were written.
func (c *HashCounter) Bytes() int64 { return c.n }

// Sum is the hex sha256 of what was written.
func (c *HashCounter) Sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// Digest is the hex sha256 of b.
func Digest(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

// Write writes the file rel under the folder out atomically, through write,
// and describes it (Records is left to the caller).
func Write(ctx context.Context, out, rel string, write func(io.Writer) error) (schemas.FileEntry, error) {
	entry := schemas.FileEntry{File: rel}
	err := fsio.WriteAtomic(ctx, fsio.Join(out, rel), func(w io.Writer) error {
		hc := NewHashCounter(w)
		if err := write(hc); err != nil {
			return err
		}
		entry.Bytes, entry.SHA256 = hc.Bytes(), hc.Sum()
		return nil
	})
	if err != nil {
		return entry, fmt.Errorf("writing %s: %w", fsio.Join(out, rel), err)
	}
	return entry, nil
}

// Parquet writes rows as a zstd-compressed Parquet file whose columns come
// from T's parquet tags.
func Parquet[T any](w io.Writer, rows []T) error {
	pw := parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Zstd), parquet.CreatedBy("facepipe", schemas.Version, ""))
	if len(rows) > 0 {
		if _, err := pw.Write(rows); err != nil {
			return err
		}
	}
	return pw.Close()
}
