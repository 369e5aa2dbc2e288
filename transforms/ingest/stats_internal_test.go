package ingest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/facepipe/facepipe/labelstats"
	"github.com/facepipe/facepipe/schemas"
)

// TestStatsCombinerBundling drives the Beam combiner's methods as a runner
// would with different bundlings: one bundle, one bundle per element, and
// uneven bundles merged in both orders. All give the same accumulator.
func TestStatsCombinerBundling(t *testing.T) {
	var outcomes []Outcome
	for i := 0; i < 500; i++ {
		o := Outcome{File: fmt.Sprint(i), SHA256: fmt.Sprintf("%08d", (i*7919)%10007), Labeled: true,
			Age: 1 + i%90, Gender: i % 2, Race: i%6 - 1, Status: StatusWritten, Split: "train", Grayscale: i%11 == 0}
		if i%13 == 0 {
			o.Status, o.Reason, o.Split = StatusRejected, schemas.ReasonTruncated, ""
		}
		outcomes = append(outcomes, o)
	}
	var fn statsFn
	bundle := func(os []Outcome) labelstats.Accumulator {
		a := fn.CreateAccumulator()
		for _, o := range os {
			a = fn.AddInput(a, o)
		}
		return a
	}
	want := fn.ExtractOutput(bundle(outcomes))
	perElement := fn.CreateAccumulator()
	for _, o := range outcomes {
		perElement = fn.MergeAccumulators(perElement, bundle([]Outcome{o}))
	}
	left := fn.MergeAccumulators(fn.MergeAccumulators(bundle(outcomes[:7]), bundle(outcomes[7:300])), bundle(outcomes[300:]))
	right := fn.MergeAccumulators(bundle(outcomes[300:]), fn.MergeAccumulators(bundle(outcomes[7:300]), bundle(outcomes[:7])))
	for name, got := range map[string]labelstats.Accumulator{"per element": perElement, "left": left, "right": right} {
		if !reflect.DeepEqual(fn.ExtractOutput(got), want) {
			t.Errorf("%s bundling differs from one bundle", name)
		}
	}
	if want.Records() != 500-39 || want.Reasons[indexOf(schemas.ReasonTruncated)] != 39 {
		t.Errorf("records %d, truncated %d", want.Records(), want.Reasons[indexOf(schemas.ReasonTruncated)])
	}
}

func indexOf(reason string) int {
	for i, r := range schemas.Reasons {
		if r == reason {
			return i
		}
	}
	return -1
}
