// Runs face-api.js's age and gender network (@vladmandic/face-api, TensorFlow.js
// on its WASM backend) on a list of images, without face detection: each
// whole image is the face (UTKFace images are already aligned crops).
// scripts/bench-faceapi.sh runs it against our scoring pipeline.
//
//   node agegender.js --list=FILE --out=DIR [--procs=2] [--batch=16]
//
// FILE holds one image path a line. The primary process splits the list
// round-robin between --procs child processes (one per core; the scheme is
// common.js's). Each child loads the model, runs one warm-up batch and
// reports ready; once all are ready the primary starts the clock and tells
// them to go. Each child then
// decodes its images (sharp), predicts in batches of --batch and writes
// DIR/part-K.jsonl, one line per image:
//
//   {"file":"25_1_0_x.jpg.chip.jpg","path":"...","age":27.3,"gender":"female","gender_probability":0.91}
//
// or {"file":...,"path":...,"error":"..."} for an image that failed. The
// clock stops when the last child is done: DIR/summary.json holds the image
// count and that wall time (decoding, inference and writing, not model loading).
//
// Preprocessing is face-api's own: each decoded image goes to
// predictAgeAndGender as an RGB tensor [H, W, 3] of 0-255 values, and the
// library prepares it as in @vladmandic/face-api 1.7.15, src/ (the same code
// is in dist/face-api.node-wasm.js, which runs here):
//   - xception/TinyXception.ts:47-49: input.toBatchTensor(112, true), cast to
//     float32, normalize(x, [122.782, 117.001, 104.298]), then .div(255);
//   - dom/NetInput.ts:129-137 (toBatchTensor): for a tensor input,
//     padToSquare(img, isCenterInputs=true), then, unless already 112x112,
//     tf.image.resizeBilinear(img, [112, 112], alignCorners=false,
//     halfPixelCenters=false) (TF1's legacy bilinear, no antialiasing), and
//     dom/NetInput.ts:147 stacks the batch as float32;
//   - ops/padToSquare.ts:11-30: zeros appended on both sides of the shorter
//     side (round(diff/2) after, the rest before); 200x200 UTKFace images
//     need none;
//   - ops/normalize.ts:3-12: subtracts the mean per channel (RGB order) on
//     0-255 values.
// So the order is: pad to square with 0, resize to 112x112 (legacy
// bilinear) on 0-255 values, subtract the mean RGB, divide by 255. Browsers
// take another path (dom/NetInput.ts:140-141, a canvas drawn at 112x112),
// which this Node run does not use.
//
// Outputs (ageGenderNet/AgeGenderNet.ts:42-47, 53-75): age in years from a
// linear layer; gender a softmax over [male, female], reported as the label
// and its probability (male when P(male) > 0.5).
'use strict';

const path = require('path');
const common = require('./common');

const args = common.parseArgs(process.argv.slice(2));
const batchSize = Number(args.batch || 16);

async function primary() {
  if (!args.list || !args.out) {
    console.error('usage: node agegender.js --list=FILE --out=DIR [--procs=2] [--batch=16]');
    process.exit(2);
  }
  const procs = Number(args.procs || 2);
  const files = common.readList(args.list);
  const { ready, done, wall } = await common.clock({
    script: __filename, files, procs, out: args.out, childArgs: [`--batch=${batchSize}`],
  });
  const summary = {
    images: files.length,
    failed: done.reduce((s, d) => s + d.failed, 0),
    wall_s: wall,
    images_per_s: files.length / wall,
    procs,
    batch: batchSize,
    backend: ready[0].backend,
    threads_per_proc: ready[0].threads,
    load_s: ready.map((r) => r.load_s),
    per_proc: done.map((d) => ({ images: d.images, seconds: d.seconds })),
    versions: ready[0].versions,
  };
  common.writeSummary(args.out, summary);
  console.log(`faceapi: ${files.length} images in ${wall.toFixed(2)} s (${summary.images_per_s.toFixed(1)} images/s), ${procs} processes, batch ${batchSize}, ${summary.backend} backend, ${summary.threads_per_proc} thread each`);
}

async function child(nextMessage) {
  const t0 = performance.now();
  const rt = await common.loadRuntime();
  const { tf, faceapi } = rt;
  await faceapi.nets.ageGenderNet.loadFromDisk(common.modelDir());
  const job = await nextMessage();

  // decode returns an int32 RGB tensor [H, W, 3] of the file, or an Error.
  const decode = async (file) => {
    const d = await common.decode(rt, file, false);
    return d instanceof Error ? d : d.tensor;
  };
  const predict = async (tensors) => {
    const out = await faceapi.nets.ageGenderNet.predictAgeAndGender(tensors);
    return Array.isArray(out) ? out : [out];
  };

  // Warm-up: one batch the size of a real one, so that no kernel setup is timed.
  const warm = Array.from({ length: Math.min(batchSize, Math.max(job.files.length, 1)) }, () => tf.zeros([200, 200, 3], 'int32'));
  await predict(warm);
  tf.dispose(warm);
  common.ready(rt, t0);
  await nextMessage(); // go

  const start = performance.now();
  const lines = [];
  let failed = 0;
  const files = job.files;
  const decodeBatch = (i) => Promise.all(files.slice(i, i + batchSize).map(decode));
  let next = decodeBatch(0);
  for (let i = 0; i < files.length; i += batchSize) {
    const decoded = await next;
    if (i + batchSize < files.length) next = decodeBatch(i + batchSize); // decode ahead while predicting
    const ok = [];
    decoded.forEach((d, j) => {
      const file = files[i + j];
      if (d instanceof Error) {
        failed++;
        lines.push(JSON.stringify({ file: path.basename(file), path: file, error: String(d.message) }));
      } else {
        ok.push({ file, tensor: d });
      }
    });
    if (ok.length > 0) {
      const preds = await predict(ok.map((o) => o.tensor));
      tf.dispose(ok.map((o) => o.tensor));
      preds.forEach((p, j) => {
        lines.push(JSON.stringify({
          file: path.basename(ok[j].file), path: ok[j].file, age: p.age, gender: p.gender, gender_probability: p.genderProbability,
        }));
      });
    }
  }
  common.finish(job.out, lines, { images: files.length, failed, seconds: (performance.now() - start) / 1000 });
}

common.main('faceapi', primary, child);
