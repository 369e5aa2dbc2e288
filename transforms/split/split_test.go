package split

import (
	"crypto/sha256"
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
