package preprocess

import (
	"math"
	"testing"
)

// referenceArea averages, for each output pixel, the input plane over its
// rectangle with exact fractional coverage, plainly and in 2-D.
func referenceArea(src []float32, inH, inW, c, outH, outW int) []float64 {
	sy, sx := float64(inH)/float64(outH), float64(inW)/float64(outW)
	out := make([]float64, outH*outW*c)
	for oy := 0; oy < outH; oy++ {
		for ox := 0; ox < outW; ox++ {
			for ch := 0; ch < c; ch++ {
				var sum float64
				for y := 0; y < inH; y++ {
					cy := math.Min(float64(oy+1)*sy, float64(y+1)) - math.Max(float64(oy)*sy, float64(y))
					if cy <= 0 {
						continue
					}
					for x := 0; x < inW; x++ {
						cx := math.Min(float64(ox+1)*sx, float64(x+1)) - math.Max(float64(ox)*sx, float64(x))
						if cx > 0 {
							sum += cy * cx * float64(src[(y*inW+x)*c+ch])
						}
					}
				}
				out[(oy*outW+ox)*c+ch] = sum / (sy * sx)
			}
		}
	}
	return out
}

func TestResizeArea(t *testing.T) {
	for _, tc := range [][4]int{{56, 56, 16, 16}, {56, 49, 24, 21}, {8, 8, 4, 4}, {10, 7, 3, 5}, {5, 5, 5, 5}, {4, 4, 6, 6}, {6, 4, 3, 4}, {6, 4, 6, 2}} {
		inH, inW, outH, outW := tc[0], tc[1], tc[2], tc[3]
		src := make([]float32, inH*inW*3)
		for i := range src {
			src[i] = float32(math.Sin(float64(i)*0.37)*0.5 + 0.5)
		}
		got := ResizeArea(src, inH, inW, 3, outH, outW, nil)
		want := referenceArea(src, inH, inW, 3, outH, outW)
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("%v: value %d = %v, want %v", tc, i, got[i], want[i])
			}
		}
	}
	// Averaging 2×2 blocks exactly.
	src := []float32{0, 1, 2, 3}
	if got := ResizeArea(src, 2, 2, 1, 1, 1, nil); got[0] != 1.5 {
		t.Errorf("2×2 → 1×1 = %v, want 1.5", got[0])
	}
}

func BenchmarkResizeArea224To64(b *testing.B) {
	src := make([]float32, 224*224*3)
	var dst []float32
	for i := 0; i < b.N; i++ {
		dst = ResizeArea(src, 224, 224, 3, 64, 64, dst)
	}
}
