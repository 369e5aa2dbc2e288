// Command benchtrain times a training step and inference of a built-in
// architecture on random data, for scripts/bench-train.sh. For the plain
// CNNs it also gives inference in GFLOP/s, next to the fastest float32
// matrix product the backend runs on this machine: products of 3072×3072
// matrices made in the graph, so that no transfer is timed.
//
//	go run ./scripts/benchtrain -backbone cnn-s -size 64 -batch 128
//	go run -tags xla ./scripts/benchtrain -backend xla:cuda -describe
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/facepipe/facepipe/model"
)

func main() {
	backbone := flag.String("backbone", "cnn-s", "architecture")
	task := flag.String("task", model.TaskAge, "age, gender or both")
	ageHead := flag.String("age_head", model.AgeHeadL1, "l1 or dldl")
	ema := flag.Float64("ema", 0, "decay of a moving average of the weights updated in the training step (0: none)")
	size := flag.Int("size", 64, "input height and width")
	batch := flag.Int("batch", 128, "batch size")
	steps := flag.Int("steps", 20, "timed training steps")
	infer := flag.Int("infer", 20, "timed inference batches")
	backend := flag.String("backend", "", "GoMLX backend (default: as the train binary chooses)")
	peak := flag.Bool("peak", true, "also time the backend's float32 matrix product")
	describeOnly := flag.Bool("describe", false, "only open the backend and print what it is (exit 1 with the reason when it can't be opened)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchtrain: ")

	b, name, err := model.NewBackend(*backend)
	if err != nil {
		log.Fatal(err)
	}
	if *describeOnly {
		fmt.Printf("%s: %s\n", name, b.Description())
		return
	}
	spec := model.Spec{Task: *task, AgeHead: *ageHead, Backbone: *backbone, InputSize: *size, AgeScale: 10, AgeShift: 29}
	net, err := model.NewNet(b, spec, 1)
	if err != nil {
		log.Fatal(err)
	}
	obj := model.Objective{Spec: spec, DLDLL1: 1}
	r := rand.New(rand.NewPCG(1, 2))
	images := make([]float32, *batch**size**size*3)
	ages, genders := make([]float32, *batch), make([]float32, *batch)
	for i := range images {
		images[i] = r.Float32()
	}
	for i := range ages {
		ages[i], genders[i] = float32(1+r.IntN(100)), float32(r.IntN(2))
	}
	targets := make([]float32, *batch*obj.TargetWidth())
	obj.Targets(targets, ages, genders)
	opt := model.AdamW(0.05)
	if *ema > 0 {
		opt = model.WithEMA(opt, *ema)
	}
	trainer := train.NewTrainer(b, net.Store, net.TrainFn(model.OneCycle(2e-3, 1000)), obj.Loss(), opt, nil, nil)
	step := func() {
		x, _ := net.Tensor(images, *batch, *size, *size, 3)
		y, _ := net.Tensor(targets, *batch, obj.TargetWidth())
		m, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{x}, Labels: []*tensors.Tensor{y}})
		if err != nil {
			log.Fatal(err)
		}
		for _, t := range m {
			t.MustFinalizeAll()
		}
	}
	for i := 0; i < 3; i++ {
		step()
	}
	trainTimes := timeIt(*steps, step)
	p, err := net.NewPredictor(*batch, false)
	if err != nil {
		log.Fatal(err)
	}
	predict := func() {
		if _, err := p.Predict(images); err != nil {
			log.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		predict()
	}
	inferTimes := timeIt(*infer, predict)
	imagesPerSecond := float64(*batch) / inferTimes.Seconds()
	fmt.Printf("go: %s %s %d×%d batch %d on %s, %d parameters: train step %.1f ms (median of %d), inference %.0f images/s (median of %d)\n",
		*backbone, describe(spec, *ema), *size, *size, *batch, name, net.Params(), ms(trainTimes), *steps, imagesPerSecond, *infer)
	if macs, ok := net.Spec.MultiplyAdds(); ok && *peak {
		fmt.Printf("go: inference %.0f GFLOP/s (%.1f MFLOP per image); float32 matrix product %.0f GFLOP/s (median of 6)\n",
			imagesPerSecond*2*float64(macs)/1e9, 2*float64(macs)/1e6, matmulGFLOPs(b, 3072, 8))
	}
}

// matmulGFLOPs is the speed of a chain of k products of n×n float32
// matrices on backend b, made in the graph from a parameter so that nothing
// is transferred and nothing can be folded into a constant.
func matmulGFLOPs(b compute.Backend, n, k int) float64 {
	exec := graph.MustNewExec(b, func(seed *graph.Node) *graph.Node {
		x := graph.ConvertDType(graph.Iota(seed.Graph(), shapes.Make(dtypes.Int32, n, n), 0), dtypes.Float32)
		x = graph.Mul(graph.AddScalar(graph.MulScalar(x, 1e-4), 0.5), seed)
		y := x
		for range k {
			y = graph.MulScalar(graph.Dot(y, x).Product(), 1e-3)
		}
		return graph.ReduceAllSum(y)
	})
	run := func() {
		out := exec.MustExec(tensors.FromValue(float32(1)))
		out[0].Value()
		out[0].MustFinalizeAll()
	}
	run()
	run()
	d := timeIt(6, run)
	return float64(k) * 2 * float64(n) * float64(n) * float64(n) / d.Seconds() / 1e9
}

func timeIt(n int, f func()) time.Duration {
	var d []time.Duration
	for i := 0; i < n; i++ {
		t := time.Now()
		f()
		d = append(d, time.Since(t))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// describe names the task, the age head and the EMA of a run.
func describe(spec model.Spec, ema float64) string {
	s := spec.Task
	if spec.DLDL() {
		s += "/dldl"
	}
	if ema > 0 {
		s += fmt.Sprintf("/ema %g", ema)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
