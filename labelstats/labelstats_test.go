package labelstats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/facepipe/facepipe/schemas"
)

type rec struct {
	split             string
	age, gender, race int
	gray              bool
	sha               string
}

func records(n int, seed uint64) []rec {
	r := rand.New(rand.NewPCG(seed, 9))
	var out []rec
	for i := 0; i < n; i++ {
		out = append(out, rec{
			split: "train", age: 1 + r.IntN(100), gender: r.IntN(2), race: r.IntN(6) - 1,
			gray: r.IntN(20) == 0, sha: fmt.Sprintf("%064x", r.Uint64()),
		})
	}
	return out
}

func add(a *Accumulator, r rec) {
	a.AddWritten(r.split, r.age, r.gender, r.race, r.gray, Sample{SHA256: r.sha, Path: "/p/" + r.sha, Age: r.age, Gender: r.gender, Split: r.split})
}

// TestMergeAnyBundling: splitting the records into random bundles and merging
// the bundles' accumulators in random trees gives the same accumulator as one
// pass over all records.
func TestMergeAnyBundling(t *testing.T) {
	recs := records(3000, 1)
	want := New()
	for _, r := range recs {
		add(want, r)
	}
	want.AddRejected(schemas.ReasonTruncated)
	rng := rand.New(rand.NewPCG(2, 3))
	for trial := 0; trial < 20; trial++ {
		var parts []*Accumulator
		for i := 0; i < len(recs); {
			n := 1 + rng.IntN(400)
			a := New()
			for _, r := range recs[i:min(i+n, len(recs))] {
				add(a, r)
			}
			parts = append(parts, a)
			i += n
		}
		parts[rng.IntN(len(parts))].AddRejected(schemas.ReasonTruncated)
		parts = append(parts, New()) // an empty bundle
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		for len(parts) > 1 { // merge random pairs until one is left
			i := rng.IntN(len(parts) - 1)
			parts[i].Merge(parts[i+1])
			parts = append(parts[:i+1], parts[i+2:]...)
		}
		if !reflect.DeepEqual(parts[0], want) {
			t.Fatalf("trial %d: merged accumulator differs from the single pass", trial)
		}
	}
	if len(want.Samples) != MaxSamples {
		t.Errorf("%d samples, want %d", len(want.Samples), MaxSamples)
	}
}

func TestTables(t *testing.T) {
	a := New()
	for _, r := range []rec{
		{"test", 26, 0, 0, false, "a"}, {"test", 26, 1, 1, true, "b"}, {"test", 1, 1, -1, false, "c"}, {"test", 30, 0, 4, false, "d"},
	} {
		add(a, r)
	}
	g := GenderRows([]*Accumulator{a})
	if len(g) != 2 || g[0] != (schemas.GenderRow{Split: "test", Gender: "male", Count: 2, Fraction: 0.5}) || g[1].Gender != "female" || g[1].Count != 2 {
		t.Errorf("gender rows %+v", g)
	}
	h := AgeHistRows([]*Accumulator{a})
	row := func(age int32, gender string) schemas.AgeHistRow {
		return schemas.AgeHistRow{Split: "test", Age: age, Gender: gender, Count: 1}
	}
	wantH := []schemas.AgeHistRow{row(1, "female"), row(26, "male"), row(26, "female"), row(30, "male")}
	if !reflect.DeepEqual(h, wantH) {
		t.Errorf("age histogram %+v, want %+v", h, wantH)
	}
	races := map[string]int64{}
	for _, r := range RaceRows([]*Accumulator{a}) {
		races[r.Race] = r.Count
	}
	if races["white"] != 1 || races["black"] != 1 || races["others"] != 1 || races["unknown"] != 1 || races["asian"] != 0 {
		t.Errorf("races %v", races)
	}
	s := AgeSummaryRows([]*Accumulator{a})
	if len(s) != 3 || s[2].Gender != "all" || s[2].Count != 4 || s[2].Min != 1 || s[2].Max != 30 || s[2].Median != 26 {
		t.Errorf("age summary %+v", s)
	}
	if a.Grayscale != 1 || a.Records() != 4 {
		t.Errorf("grayscale %d, records %d", a.Grayscale, a.Records())
	}
}

// naiveSummary computes the summary from the raw values, plainly.
func naiveSummary(values []int) (mean, std, p25, med, p75 float64) {
	v := append([]int(nil), values...)
	sort.Ints(v)
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (float64(x) - mean) * (float64(x) - mean)
	}
	std = math.Sqrt(std / float64(len(v)-1))
	q := func(p float64) float64 { // numpy's linear method
		h := p * float64(len(v)-1)
		lo := int(h)
		hi := min(lo+1, len(v)-1)
		return float64(v[lo]) + (h-float64(lo))*float64(v[hi]-v[lo])
	}
	return mean, std, q(0.25), q(0.5), q(0.75)
}

func TestSummarizeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 2, 3, 4, 7, 100, 1001} {
		counts := make([]int64, ages)
		var values []int
		for i := 0; i < n; i++ {
			v := 1 + r.IntN(90)
			counts[v]++
			values = append(values, v)
		}
		got := Summarize(counts)
		mean, std, p25, med, p75 := naiveSummary(values)
		if n == 1 {
			std = 0
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"mean", got.Mean, mean}, {"std", got.Stddev, std}, {"p25", got.P25, p25}, {"median", got.Median, med}, {"p75", got.P75, p75}} {
			if math.Abs(c.got-c.want) > 1e-9 {
				t.Errorf("n=%d %s = %v, want %v", n, c.name, c.got, c.want)
			}
		}
	}
	if z := Summarize(make([]int64, ages)); z.Count != 0 || z.Mean != 0 {
		t.Errorf("empty: %+v", z)
	}
}
