// Package labelstats accumulates the label statistics of an ingest run and
// turns them into the rows of its Parquet tables. An Accumulator is a
// mergeable summary (exact counts per age, gender and race), so the
// statistics come out the same however the records are split into bundles.
package labelstats

import (
	"math"
	"sort"

	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/schemas"
)

// MaxSamples is how many sample images an Accumulator keeps for the report.
const MaxSamples = 32

const ages = labels.MaxAge + 1 // age counts are indexed 0..MaxAge

// Sample is one written image the report may show.
type Sample struct {
	SHA256 string
	Path   string
	File   string
	Split  string
	Age    int
	Gender int
}

// Accumulator summarises the outcomes of one split: the written records'
// labels, and for outcomes that were not written, their reasons. Its fields
// are exported so that Beam can encode it between bundles.
type Accumulator struct {
	Split     string
	AgeGender []int64 // written records by gender*(MaxAge+1)+age
	Race      []int64 // written records by race 0-4, then unknown
	Grayscale int64   // written records that are grayscale
	Reasons   []int64 // not-written outcomes by index in schemas.Reasons
	Samples   []Sample
}

// New returns an empty accumulator.
func New() *Accumulator {
	return &Accumulator{
		AgeGender: make([]int64, 2*ages),
		Race:      make([]int64, labels.MaxRace+2),
		Reasons:   make([]int64, len(schemas.Reasons)),
	}
}

// AddWritten counts one written record.
func (a *Accumulator) AddWritten(split string, age, gender, race int, grayscale bool, s Sample) {
	a.Split = split
	if age >= 0 && age < ages && (gender == 0 || gender == 1) {
		a.AgeGender[gender*ages+age]++
	}
	if race < 0 || race > labels.MaxRace {
		race = labels.MaxRace + 1
	}
	a.Race[race]++
	if grayscale {
		a.Grayscale++
	}
	a.addSample(s)
}

// AddRejected counts one input that was not written.
func (a *Accumulator) AddRejected(reason string) {
	for i, r := range schemas.Reasons {
		if r == reason {
			a.Reasons[i]++
			return
		}
	}
}

func (a *Accumulator) addSample(s Sample) {
	if len(a.Samples) < MaxSamples {
		a.Samples = append(a.Samples, s)
		sortSamples(a.Samples)
		return
	}
	if s.SHA256 < a.Samples[len(a.Samples)-1].SHA256 {
		a.Samples[len(a.Samples)-1] = s
		sortSamples(a.Samples)
	}
}

// sortSamples orders samples by content digest, a deterministic and
// label-independent choice.
func sortSamples(s []Sample) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].SHA256 != s[j].SHA256 {
			return s[i].SHA256 < s[j].SHA256
		}
		return s[i].Path < s[j].Path
	})
}

// Merge adds b into a. Merging is associative and commutative.
func (a *Accumulator) Merge(b *Accumulator) {
	if a.Split == "" {
		a.Split = b.Split
	}
	for i, v := range b.AgeGender {
		a.AgeGender[i] += v
	}
	for i, v := range b.Race {
		a.Race[i] += v
	}
	for i, v := range b.Reasons {
		a.Reasons[i] += v
	}
	a.Grayscale += b.Grayscale
	a.Samples = append(a.Samples, b.Samples...)
	sortSamples(a.Samples)
	if len(a.Samples) > MaxSamples {
		a.Samples = a.Samples[:MaxSamples]
	}
}

// Records is the number of written records.
func (a *Accumulator) Records() int64 {
	var n int64
	for _, v := range a.Race {
		n += v
	}
	return n
}

// ages returns the age counts of a gender, or of both when gender is -1.
func (a *Accumulator) ageCounts(gender int) []int64 {
	c := make([]int64, ages)
	for g := 0; g < 2; g++ {
		if gender != -1 && g != gender {
			continue
		}
		for age := 0; age < ages; age++ {
			c[age] += a.AgeGender[g*ages+age]
		}
	}
	return c
}

func fraction(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// GenderRows is the gender_distribution table of the splits.
func GenderRows(splits []*Accumulator) []schemas.GenderRow {
	var rows []schemas.GenderRow
	for _, a := range splits {
		total := a.Records()
		for g := 0; g < 2; g++ {
			n := sum(a.ageCounts(g))
			rows = append(rows, schemas.GenderRow{Split: a.Split, Gender: labels.GenderName(g), Count: n, Fraction: fraction(n, total)})
		}
	}
	return rows
}

// AgeHistRows is the age_histogram table: one row per split, age and gender
// that occurs.
func AgeHistRows(splits []*Accumulator) []schemas.AgeHistRow {
	var rows []schemas.AgeHistRow
	for _, a := range splits {
		for age := 0; age < ages; age++ {
			for g := 0; g < 2; g++ {
				if n := a.AgeGender[g*ages+age]; n > 0 {
					rows = append(rows, schemas.AgeHistRow{Split: a.Split, Age: int32(age), Gender: labels.GenderName(g), Count: n})
				}
			}
		}
	}
	return rows
}

// RaceRows is the race_distribution table.
func RaceRows(splits []*Accumulator) []schemas.RaceRow {
	var rows []schemas.RaceRow
	for _, a := range splits {
		total := a.Records()
		for r, n := range a.Race {
			race := r
			if r > labels.MaxRace {
				race = labels.NoRace
			}
			rows = append(rows, schemas.RaceRow{Split: a.Split, Race: labels.RaceName(race), Count: n, Fraction: fraction(n, total)})
		}
	}
	return rows
}

// AgeSummaryRows is the age_summary table: per split, male, female and all.
func AgeSummaryRows(splits []*Accumulator) []schemas.AgeSummaryRow {
	var rows []schemas.AgeSummaryRow
	for _, a := range splits {
		for _, g := range []int{0, 1, -1} {
			name := "all"
			if g >= 0 {
				name = labels.GenderName(g)
			}
			row := Summarize(a.ageCounts(g))
			row.Split, row.Gender = a.Split, name
			rows = append(rows, row)
		}
	}
	return rows
}

func sum(c []int64) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// Summarize describes a histogram of integer values (counts[v] values equal
// to v): count, mean, sample standard deviation, min, max and the quartiles,
// interpolated linearly between order statistics (numpy's default). An empty
// histogram gives zeros.
func Summarize(counts []int64) schemas.AgeSummaryRow {
	n := sum(counts)
	row := schemas.AgeSummaryRow{Count: n}
	if n == 0 {
		return row
	}
	var s, ss float64
	row.Min = -1
	for v, c := range counts {
		if c == 0 {
			continue
		}
		if row.Min < 0 {
			row.Min = int32(v)
		}
		row.Max = int32(v)
		s += float64(c) * float64(v)
	}
	row.Mean = s / float64(n)
	for v, c := range counts {
		d := float64(v) - row.Mean
		ss += float64(c) * d * d
	}
	if n > 1 {
		row.Stddev = math.Sqrt(ss / float64(n-1))
	}
	row.P25, row.Median, row.P75 = quantile(counts, n, 0.25), quantile(counts, n, 0.5), quantile(counts, n, 0.75)
	return row
}

// quantile is the q-quantile of a histogram: position q·(n-1) among the
// sorted values, interpolating between its two neighbours.
func quantile(counts []int64, n int64, q float64) float64 {
	pos := q * float64(n-1)
	lo := int64(math.Floor(pos))
	frac := pos - float64(lo)
	return (1-frac)*float64(nth(counts, lo)) + frac*float64(nth(counts, min(lo+1, n-1)))
}

// nth is the k-th smallest value (0-based).
func nth(counts []int64, k int64) int {
	for v, c := range counts {
		if k < c {
			return v
		}
		k -= c
	}
	return len(counts) - 1
}
