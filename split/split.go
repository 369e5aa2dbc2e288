// Package split assigns files to train, valid and test splits, and to shards
// within a split, from a hash of their content. A file's split depends only on
// its bytes and the seed: never on its name, the run, the runner or the number
// of workers, so byte-identical copies always land in the same split.
package split

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Part is one named split and its share of the data.
type Part struct {
	Name     string
	Fraction float64
}

// Spec is an ordered list of splits whose fractions sum to 1.
type Spec []Part

// Default is train=0.8,valid=0.1,test=0.1.
var Default = Spec{{"train", 0.8}, {"valid", 0.1}, {"test", 0.1}}

// sumTolerance is how far from 1 the fractions may sum: 2⁻²⁰, about 1e-6,
// a power of two so that a sum at exactly the limit can be written.
const sumTolerance = 1.0 / (1 << 20)

// Parse reads a spec such as "train=0.8,valid=0.1,test=0.1". Names must be
// distinct lower-case words, fractions must be in [0,1] and sum to 1.
func Parse(s string) (Spec, error) {
	var spec Spec
	seen := map[string]bool{}
	sum := 0.0
	for _, item := range strings.Split(s, ",") {
		name, frac, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("split %q: want name=fraction, got %q", s, item)
		}
		if !validName(name) {
			return nil, fmt.Errorf("split %q: name %q must be lower-case letters, digits or _", s, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("split %q: name %q appears twice", s, name)
		}
		seen[name] = true
		f, err := strconv.ParseFloat(frac, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return nil, fmt.Errorf("split %q: fraction %q of %s must be a number in [0,1]", s, frac, name)
		}
		sum += f
		spec = append(spec, Part{name, f})
	}
	if math.Abs(sum-1) > sumTolerance {
		return nil, fmt.Errorf("split %q: fractions sum to %g, want 1", s, sum)
	}
	return spec, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// String formats the spec the way Parse reads it.
func (s Spec) String() string {
	parts := make([]string, len(s))
	for i, p := range s {
		parts[i] = p.Name + "=" + strconv.FormatFloat(p.Fraction, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Names lists the split names in order.
func (s Spec) Names() []string {
	names := make([]string, len(s))
	for i, p := range s {
		names[i] = p.Name
	}
	return names
}

// Key is the seeded hash a file's placement comes from.
type Key [sha256.Size]byte

// KeyOf hashes a file's content digest (hex, as in the Example's sha256
// feature) with the seed.
func KeyOf(contentSHA256 string, seed int64) Key {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write([]byte("facepipe/split/v1\x00"))
	h.Write(b[:])
	raw, err := hex.DecodeString(contentSHA256)
	if err != nil {
		raw = []byte(contentSHA256)
	}
	h.Write(raw)
	var k Key
	h.Sum(k[:0])
	return k
}

// Assign returns the split of a key. The first 8 bytes of the key, read as a
// fraction of 2^64, fall into the splits' cumulative ranges.
func (s Spec) Assign(k Key) string {
	u := float64(binary.BigEndian.Uint64(k[0:8])>>11) / (1 << 53) // uniform in [0,1)
	acc := 0.0
	last := ""
	for _, p := range s {
		if p.Fraction == 0 {
			continue
		}
		acc += p.Fraction
		last = p.Name
		if u < acc {
			return p.Name
		}
	}
	return last // rounding: u just below 1 with fractions summing to 1-ε
}

// Shard returns the shard index in [0,n) of a key, from bytes independent of
// the ones Assign reads, so shards are balanced within every split.
func Shard(k Key, n int) int {
	if n < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint64(k[8:16]) % uint64(n))
}
