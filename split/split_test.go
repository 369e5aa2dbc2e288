package split

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"testing"
)

func digest(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want string
	}{
		{"train=0.8,valid=0.1,test=0.1", "train=0.8,valid=0.1,test=0.1"},
		{" train=0.5 , test=0.5", "train=0.5,test=0.5"},
		{"all=1", "all=1"},
		{"train=0.7,valid=0.15,test=0.15", "train=0.7,valid=0.15,test=0.15"},
	}
	for _, tc := range good {
		s, err := Parse(tc.in)
		if err != nil || s.String() != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", tc.in, s, err, tc.want)
		}
	}
	for _, in := range []string{"", "train", "train=0.8,valid=0.1", "train=1.2,test=-0.2", "Train=1", "a=0.5,a=0.5", "train=x", "train=NaN", "tr ain=1"} {
		if s, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v; want an error", in, s)
		}
	}
}

func TestAssignProportions(t *testing.T) {
	const n = 100000
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[Default.Assign(KeyOf(digest(fmt.Sprint(i)), 42))]++
	}
	for _, p := range Default {
		got := float64(counts[p.Name]) / n
		if math.Abs(got-p.Fraction) > 0.005 {
			t.Errorf("split %s: got fraction %.4f, want %.2f", p.Name, got, p.Fraction)
		}
	}
}

func TestAssignDependsOnContentAndSeedOnly(t *testing.T) {
	changed := 0
	for i := 0; i < 1000; i++ {
		d := digest(fmt.Sprint("image", i))
		a := Default.Assign(KeyOf(d, 1))
		if b := Default.Assign(KeyOf(d, 1)); a != b {
			t.Fatalf("split of %s changed between calls: %s then %s", d, a, b)
		}
		if Default.Assign(KeyOf(d, 2)) != a {
			changed++
		}
	}
	// With another seed, about 1-(0.8²+0.1²+0.1²) = 34% of files move.
	if changed < 250 || changed > 430 {
		t.Errorf("changing the seed moved %d of 1000 files; want about 340", changed)
	}
}

func TestZeroFractionNeverAssigned(t *testing.T) {
	spec, err := Parse("train=1,valid=0,test=0")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if got := spec.Assign(KeyOf(digest(fmt.Sprint(i)), 0)); got != "train" {
			t.Fatalf("got split %s with fraction 0", got)
		}
	}
}

func TestShardIndependentOfSplit(t *testing.T) {
	const shards = 4
	counts := map[string][shards]int{}
	for i := 0; i < 40000; i++ {
		k := KeyOf(digest(fmt.Sprint(i)), 7)
		c := counts[Default.Assign(k)]
		c[Shard(k, shards)]++
		counts[Default.Assign(k)] = c
	}
	for name, c := range counts {
		total := 0
		for _, v := range c {
			total += v
		}
		for i, v := range c {
			if f := float64(v) / float64(total); math.Abs(f-0.25) > 0.03 {
				t.Errorf("split %s shard %d holds %.3f of the split, want 0.25", name, i, f)
			}
		}
	}
	if Shard(KeyOf(digest("x"), 0), 1) != 0 || Shard(KeyOf(digest("x"), 0), 0) != 0 {
		t.Error("a single shard must be shard 0")
	}
}

// TestPinnedAssignments pins where files land for fixed seeds: a change to
// the hash (its tag, the seed's encoding, the bytes read) would silently
// re-split every dataset and leak earlier test images into training. The
// expected splits and shards were computed independently, in Python's
// hashlib: u = (first 8 bytes of sha256("facepipe/split/v1\x00" ||
// seed as 8 big-endian bytes || sha256(content))) >> 11, over 2^53, in the
// cumulative ranges of train=0.8,valid=0.1,test=0.1; shard = the next 8
// bytes mod 5.
func TestPinnedAssignments(t *testing.T) {
	tests := []struct {
		content string
		seed    int64
		split   string
		shard   int
	}{
		{"image-00", 42, "train", 4}, // u = 0.5261
		{"image-01", 42, "train", 3}, // u = 0.7318
		{"image-02", 42, "train", 0}, // u = 0.1358
		{"image-03", 42, "valid", 1}, // u = 0.8847
		{"image-04", 42, "valid", 3}, // u = 0.8147
		{"image-05", 42, "train", 3}, // u = 0.0931
		{"image-06", 42, "train", 2}, // u = 0.6805
		{"image-07", 42, "test", 2},  // u = 0.9935
		{"image-08", 42, "train", 1}, // u = 0.7959
		{"image-09", 42, "train", 4}, // u = 0.2566
		{"image-10", 42, "train", 0}, // u = 0.0327
		{"image-11", 42, "train", 4}, // u = 0.0265
		{"image-00", -7, "train", 4}, // u = 0.1695
		{"image-01", -7, "train", 3}, // u = 0.3044
		{"image-02", -7, "train", 0}, // u = 0.2044
		{"image-03", -7, "train", 3}, // u = 0.6863
		{"image-04", -7, "train", 1}, // u = 0.3043
		{"image-05", -7, "valid", 2}, // u = 0.8157
		{"image-06", -7, "train", 2}, // u = 0.3295
		{"image-07", -7, "train", 3}, // u = 0.0977
		{"image-08", -7, "train", 3}, // u = 0.2092
		{"image-09", -7, "train", 2}, // u = 0.7924
		{"image-10", -7, "train", 0}, // u = 0.4661
		{"image-11", -7, "train", 3}, // u = 0.6435
	}
	for _, tc := range tests {
		k := KeyOf(digest(tc.content), tc.seed)
		if got := Default.Assign(k); got != tc.split {
			t.Errorf("content %q, seed %d: split %s, want %s", tc.content, tc.seed, got, tc.split)
		}
		if got := Shard(k, 5); got != tc.shard {
			t.Errorf("content %q, seed %d: shard %d of 5, want %d", tc.content, tc.seed, got, tc.shard)
		}
	}
}

// TestParseLimits: names may use every lower-case letter and digit, from
// 'a' to 'z' and '0' to '9', and no character either side of those ranges;
// fractions may sum to 1 ± 2⁻²⁰ and no further.
func TestParseLimits(t *testing.T) {
	for _, in := range []string{
		"a=0.25,z=0.25,0=0.25,9_=0.25",
		"a=0.5,b=0.50000095367431640625", // 1 + 2⁻²⁰ exactly
		"a=0.5,b=0.49999904632568359375", // 1 − 2⁻²⁰ exactly
	} {
		if _, err := Parse(in); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
	for _, in := range []string{
		"`=1", "{=1", "/=1", ":=1", "A=1",
		"a=0.5,b=0.5000009536743167", // just over 1 + 2⁻²⁰
		"a=0.5,b=0.4999990463256833", // just under 1 − 2⁻²⁰
	} {
		if s, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, s)
		}
	}
}

// keyAt returns a key whose first 8 bytes read as the fraction u of 2⁶⁴
// (Assign's uniform draw) and whose next 8 read as shard.
func keyAt(u float64, shard uint64) Key {
	var k Key
	binary.BigEndian.PutUint64(k[0:8], uint64(u*(1<<53))<<11)
	binary.BigEndian.PutUint64(k[8:16], shard)
	return k
}

// TestAssignBoundaries: a draw exactly at a split's upper bound belongs to
// the next split (ranges are [lo, hi)); a draw at the end of the last
// range falls back to the last split with a fraction.
func TestAssignBoundaries(t *testing.T) {
	spec := Spec{{"a", 0.5}, {"b", 0.25}, {"c", 0.25}, {"d", 0}}
	for _, tc := range []struct {
		u    float64
		want string
	}{
		{0, "a"}, {0.5 - 1.0/(1<<53), "a"}, {0.5, "b"}, {0.75, "c"}, {1 - 1.0/(1<<53), "c"},
	} {
		if got := spec.Assign(keyAt(tc.u, 0)); got != tc.want {
			t.Errorf("u = %v: split %s, want %s", tc.u, got, tc.want)
		}
	}
	short := Spec{{"a", 0.5}, {"b", 0.25}} // sums to 0.75: rounding's fallback
	if got := short.Assign(keyAt(0.9, 0)); got != "b" {
		t.Errorf("u = 0.9 past the last range: split %s, want b", got)
	}
}

// TestShardOfKey: the shard is the key's second 8 bytes modulo n; one
// shard, or none asked, is shard 0.
func TestShardOfKey(t *testing.T) {
	for _, tc := range []struct {
		word uint64
		n    int
		want int
	}{
		{7, 2, 1}, {7, 3, 1}, {8, 2, 0}, {1<<64 - 1, 10, 5}, {7, 1, 0}, {7, 0, 0}, {7, -3, 0},
	} {
		if got := Shard(keyAt(0, tc.word), tc.n); got != tc.want {
			t.Errorf("Shard(word %d, %d) = %d, want %d", tc.word, tc.n, got, tc.want)
		}
	}
}
