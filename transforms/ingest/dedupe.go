package ingest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/facepipe/facepipe/internal/beamreg"
	"github.com/facepipe/facepipe/internal/progress"
	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/transforms/rejects"
)

var duplicatesDropped = beam.NewCounter("ingest", "duplicate_files_dropped")

// Duplicate group actions.
const (
	ActionKeptOne    = "kept_one"    // labels agree: the first file by name is kept
	ActionDroppedAll = "dropped_all" // labels conflict: every copy is rejected
	ActionKeptAll    = "kept_all"    // --keep_duplicates
)

func init() {
	register.Function1x2[Item, string, Item](keyBySHA)
	beamreg.DoFn(&resolveFn{})
	register.Iter1[Item]()
	register.Emitter1[DupGroup]()
}

// shaBucketDigits is how many leading hex digits of the content digest key
// the duplicate search: 4,096 buckets. Grouping by the whole digest would give
// every image its own key, and a runner keeps state per key (Prism, about
// 1.5 KB each: 300 MB for 200,000 images), while copies share a bucket all
// the same.
const shaBucketDigits = 3

func keyBySHA(it Item) (string, Item) { return it.SHA256[:min(len(it.SHA256), shaBucketDigits)], it }

// ResolveDuplicates groups byte-identical files. A group whose labels agree
// keeps its first file by name and rejects the others as duplicate; a group
// whose labels conflict is dropped whole as duplicate_conflict. With keepAll,
// every copy is kept. The copies dropped come out as Outcomes with status
// duplicate; every group of two or more comes out in groups.
func ResolveDuplicates(s beam.Scope, items beam.PCollection, keepAll bool) (kept, dropped, groups beam.PCollection) {
	s = s.Scope("ResolveDuplicates")
	grouped := beam.GroupByKey(s, beam.ParDo(s, keyBySHA, items))
	return beam.ParDo3(s, &resolveFn{KeepAll: keepAll}, grouped)
}

type resolveFn struct {
	KeepAll bool
}

// ProcessElement resolves the files of one digest bucket: it orders them by
// digest, name and path, and resolves each run of equal digests.
func (f *resolveFn) ProcessElement(ctx context.Context, _ string, iter func(*Item) bool, keep func(Item), drop func(Outcome), group func(DupGroup)) {
	var items []Item
	var it Item
	for iter(&it) {
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if a.SHA256 != b.SHA256 {
			return a.SHA256 < b.SHA256
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Path < b.Path
	})
	for len(items) > 0 {
		n := 1
		for n < len(items) && items[n].SHA256 == items[0].SHA256 {
			n++
		}
		f.resolve(ctx, items[:n], keep, drop, group)
		items = items[n:]
	}
}

// resolve applies the duplicate policy to the byte-identical copies of one
// file, ordered by name.
func (f *resolveFn) resolve(ctx context.Context, copies []Item, keep func(Item), drop func(Outcome), group func(DupGroup)) {
	if len(copies) == 1 {
		keep(copies[0])
		return
	}
	g := DupGroup{SHA256: copies[0].SHA256, LabelsAgree: true}
	for _, c := range copies {
		g.Files = append(g.Files, c.Name)
		if c.Age != copies[0].Age || c.Gender != copies[0].Gender || c.Race != copies[0].Race {
			g.LabelsAgree = false
		}
	}
	switch {
	case f.KeepAll:
		g.Action = ActionKeptAll
		for _, c := range copies {
			keep(c)
		}
	case g.LabelsAgree:
		g.Action = ActionKeptOne
		keep(copies[0])
		for _, c := range copies[1:] {
			progress.Add(1)
			duplicatesDropped.Inc(ctx, 1)
			rejects.Counter("ingest", schemas.ReasonDuplicate).Inc(ctx, 1)
			drop(c.outcome(StatusDuplicate, schemas.ReasonDuplicate,
				fmt.Sprintf("byte-identical to %s, kept with the same labels", copies[0].Path)))
		}
	default:
		g.Action = ActionDroppedAll
		var desc []string
		for _, c := range copies {
			desc = append(desc, fmt.Sprintf("%s (age %d, gender %d, race %d)", c.Name, c.Age, c.Gender, c.Race))
		}
		for _, c := range copies {
			progress.Add(1)
			duplicatesDropped.Inc(ctx, 1)
			rejects.Counter("ingest", schemas.ReasonDuplicateConflict).Inc(ctx, 1)
			drop(c.outcome(StatusDuplicate, schemas.ReasonDuplicateConflict,
				fmt.Sprintf("%d byte-identical files disagree on labels: %s", len(copies), strings.Join(desc, "; "))))
		}
	}
	group(g)
}
