package transforms

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// hashCounter passes writes through while counting the bytes and hashing
// them, for the byte size and sha256 that the manifest records of each file.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashCounter(w io.Writer) *hashCounter {
	return &hashCounter{w: w, h: sha256.New()}
}

func (c *hashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// sum is the hex sha256 of what was written.
func (c *hashCounter) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }
