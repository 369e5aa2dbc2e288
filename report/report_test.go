package report

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/internal/htmlcheck"
	"github.com/facepipe/facepipe/labelstats"
	"github.com/facepipe/facepipe/schemas"
)

func sampleData(t *testing.T) *Data {
	t.Helper()
	var splits []*labelstats.Accumulator
	for i, name := range []string{"train", "valid", "test"} {
		a := labelstats.New()
		for k := 0; k < 100*(3-i); k++ {
			a.AddWritten(name, 1+(k*7)%90, k%2, k%5, k%17 == 0, labelstats.Sample{SHA256: string(rune('a' + k%26)), Age: 20, Split: name})
		}
		splits = append(splits, a)
	}
	rej := labelstats.New()
	rej.AddRejected(schemas.ReasonTruncated)
	rej.AddRejected(schemas.ReasonDuplicate)
	var thumbs []Thumbnail
	for i := 0; i < 32; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for p := 0; p < 64; p++ {
			img.Set(p%8, p/8, color.RGBA{uint8(i * 7), 100, 50, 255})
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		thumbs = append(thumbs, Thumbnail{JPEG: b.Bytes(), File: "x.jpg", Age: i + 1, Gender: i % 2, Split: "train"})
	}
	return &Data{
		Params: schemas.IngestParams{Input: "in", Output: "out", ImageSize: 224, Encoding: "float32", Split: "train=0.8,valid=0.1,test=0.1"},
		Splits: splits, Rejected: rej, Groups: 3, ConflictGroups: 2, DuplicateFiles: 7, Thumbnails: thumbs,
	}
}

func TestRender(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sampleData(t)); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, p := range htmlcheck.SelfContained(html) {
		t.Error(p)
	}
	for _, p := range htmlcheck.Charts(html, ChartIDs, 3) {
		t.Error(p)
	}
	if n := strings.Count(html, `src="data:image/jpeg;base64,`); n != 32 {
		t.Errorf("%d thumbnails, want 32", n)
	}
	for _, want := range []string{"truncated", "duplicate", "1, male", "train", ">300<"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRenderWithoutRejects(t *testing.T) {
	d := sampleData(t)
	d.Rejected, d.Groups, d.ConflictGroups, d.DuplicateFiles, d.Thumbnails = nil, 0, 0, 0, nil
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	for _, p := range htmlcheck.Charts(b.String(), ChartIDs[:8], 3) {
		t.Error(p)
	}
	if !strings.Contains(b.String(), "No input was rejected") {
		t.Error("no note for zero rejects")
	}
}
