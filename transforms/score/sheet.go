package score

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/facepipe/facepipe/evaluate"
)

// sheetSample chooses the contact sheet's faces across the input, not the
// first ones by name (UTKFace's names start with the age, so those are
// nearly all small children): it keeps the n faces whose path and face
// number hash lowest, overall and within each age band of the true age
// in the name, so that the choice depends neither on the names nor on
// the order the rows come in. Memory: n faces per band.
type sheetSample struct {
	n     int
	all   *lowestHashes
	bands map[string]*lowestHashes // by evaluate.AgeBand of the true age
}

func newSheetSample(n int) *sheetSample {
	return &sheetSample{n: n, all: &lowestHashes{n: n}, bands: map[string]*lowestHashes{}}
}

// sheetHash places a face in the sample.
func sheetHash(sc Scored) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", sc.Path, sc.Face)
	return h.Sum64()
}

func (s *sheetSample) add(sc Scored) {
	if s.n <= 0 {
		return
	}
	h := sheetHash(sc)
	s.all.add(h, sc)
	if sc.HasLabels {
		b := evaluate.AgeBand(sc.Age)
		if s.bands[b] == nil {
			s.bands[b] = &lowestHashes{n: s.n}
		}
		s.bands[b].add(h, sc)
	}
}

// pick returns the sample: with labels, the bands' faces in turn (youngest
// band first, each band's lowest hash first) until n are chosen, so that
// every band present shows about as many faces, in the order of their true
// age; without, the n faces that hash lowest, in path order.
func (s *sheetSample) pick(labels bool) []Scored {
	if s.n <= 0 {
		return nil
	}
	if !labels || len(s.bands) == 0 {
		out := s.all.sorted()
		slices.SortFunc(out, func(a, b Scored) int {
			if c := strings.Compare(a.Path, b.Path); c != 0 {
				return c
			}
			return a.Face - b.Face
		})
		return out
	}
	var queues [][]Scored
	for _, b := range evaluate.AgeBands {
		if q := s.bands[b]; q != nil {
			queues = append(queues, q.sorted())
		}
	}
	var out []Scored
	for len(out) < s.n {
		took := false
		for i := range queues {
			if len(queues[i]) > 0 && len(out) < s.n {
				out = append(out, queues[i][0])
				queues[i] = queues[i][1:]
				took = true
			}
		}
		if !took {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Scored) int {
		if a.Age != b.Age {
			return a.Age - b.Age
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// sheetLegend explains the contact sheet's figures, a line each.
func sheetLegend(shown, faces int, labels bool) []string {
	how := "sampled across the input (by a hash of each face's path, whatever the names and their order)"
	if labels {
		how = "sampled across the age bands 0-9, 10-19, ..., 70+ of the true age, about as many from each"
	}
	legend := []string{
		fmt.Sprintf("%d of %d faces scored, %s;", shown, faces, how),
		"each as the model saw it (the aligned crop).",
		"pred: the predicted age in years, then the predicted gender, M or F, and the model's probability of",
		"      that gender (\"F 91%\": p_female 0.91; \"M 80%\": p_female 0.20).",
	}
	if labels {
		legend = append(legend, "true: the age and gender in the file name (UTKFace labels).")
	}
	return legend
}

// lowestHashes keeps the n items whose hash is lowest: a max-heap on the
// hash.
type lowestHashes struct {
	n     int
	items []hashedFace
}

type hashedFace struct {
	hash uint64
	sc   Scored
}

func (h *lowestHashes) Len() int           { return len(h.items) }
func (h *lowestHashes) Less(i, j int) bool { return h.items[i].hash > h.items[j].hash }
func (h *lowestHashes) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *lowestHashes) Push(x any)         { h.items = append(h.items, x.(hashedFace)) }
func (h *lowestHashes) Pop() any {
	last := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return last
}

func (h *lowestHashes) add(hash uint64, sc Scored) {
	switch {
	case len(h.items) < h.n:
		heap.Push(h, hashedFace{hash, sc})
	case hash < h.items[0].hash:
		h.items[0] = hashedFace{hash, sc}
		heap.Fix(h, 0)
	}
}

// sorted returns the kept items, lowest hash first.
func (h *lowestHashes) sorted() []Scored {
	items := slices.Clone(h.items)
	slices.SortFunc(items, func(a, b hashedFace) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	out := make([]Scored, len(items))
	for i, it := range items {
		out[i] = it.sc
	}
	return out
}
