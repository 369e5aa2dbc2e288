// Runs face-api.js's full pipeline (@vladmandic/face-api, TensorFlow.js on
// its WASM backend) on a list of ordinary photos: detect every face, find
// its 68 landmarks, then predict age and gender on the face aligned by them.
// scripts/bench-wild.sh runs it on synthetic scenes (scripts/genscenes)
// against our pipeline.
//
//   node wild.js --list=FILE --out=DIR [--procs=2] [--detector=ssd|tiny]
//                [--min_confidence=0.5] [--input_size=416] [--score_threshold=0.5]
//                [--landmarks=full|tiny]
//
// Per image: faceapi.detectAllFaces(img, options).withFaceLandmarks(tiny)
// .withAgeAndGender(), with options
//   --detector=ssd:  new SsdMobilenetv1Options({ minConfidence: --min_confidence })
//   --detector=tiny: new TinyFaceDetectorOptions({ inputSize: --input_size,
//                                                  scoreThreshold: --score_threshold })
// and the full 68-point landmark net (or the tiny one with --landmarks=tiny).
// The image goes in as an RGB tensor [H, W, 3] decoded by sharp after its
// EXIF orientation is applied, so boxes are in the pixels of the upright
// image, as our pipeline reports them.
//
// Clocking is agegender.js's (common.js): the primary process splits the list
// round-robin between --procs child processes (one per core, one WASM thread
// each). Each child loads the models, runs its first image once as a
// warm-up (results dropped) and reports ready; once all are ready the
// primary starts the clock and tells them to go. Each child then decodes
// its images (sharp, the next one while the current one is processed),
// runs the pipeline and writes DIR/part-K.jsonl, one line per detected face:
//
//   {"file":"scene-00003.jpg","path":"...","width":1280,"height":720,"face":0,
//    "box_x":412.5,"box_y":80.1,"box_width":96.2,"box_height":101.7,"score":0.98,
//    "age":27.3,"gender":"female","gender_probability":0.91}
//
// (box in source pixels, score the detector's), or one line for an image
// without a face: {"file":...,"path":...,"width":...,"height":...,"faces":0},
// or {"file":...,"path":...,"error":"..."} for an image that failed. The
// clock stops when the last child is done: DIR/summary.json holds the image
// and face counts, the detector and its options, and that wall time
// (decoding, detection, landmarks, age and gender, and writing; not model
// loading nor the warm-up).
'use strict';

const path = require('path');
const common = require('./common');

const args = common.parseArgs(process.argv.slice(2));
const config = {
  detector: args.detector || 'ssd',
  min_confidence: Number(args.min_confidence || 0.5),
  input_size: Number(args.input_size || 416),
  score_threshold: Number(args.score_threshold || 0.5),
  landmarks: args.landmarks || 'full',
};

async function primary() {
  if (!args.list || !args.out) {
    console.error('usage: node wild.js --list=FILE --out=DIR [--procs=2] [--detector=ssd|tiny] [--min_confidence=0.5] [--input_size=416] [--score_threshold=0.5] [--landmarks=full|tiny]');
    process.exit(2);
  }
  if (!['ssd', 'tiny'].includes(config.detector)) throw new Error(`--detector=${config.detector}: want ssd or tiny`);
  if (!['full', 'tiny'].includes(config.landmarks)) throw new Error(`--landmarks=${config.landmarks}: want full or tiny`);
  const procs = Number(args.procs || 2);
  const files = common.readList(args.list);
  const childArgs = Object.entries(config).map(([n, v]) => `--${n}=${v}`);
  const { ready, done, wall } = await common.clock({
    script: __filename, files, procs, out: args.out, childArgs,
  });
  const sum = (key) => done.reduce((s, d) => s + d[key], 0);
  const summary = {
    images: files.length,
    faces: sum('faces'),
    no_face: sum('no_face'),
    failed: sum('failed'),
    wall_s: wall,
    images_per_s: files.length / wall,
    detector: config.detector,
    options: config.detector === 'ssd'
      ? { minConfidence: config.min_confidence }
      : { inputSize: config.input_size, scoreThreshold: config.score_threshold },
    landmarks: config.landmarks,
    procs,
    backend: ready[0].backend,
    threads_per_proc: ready[0].threads,
    load_s: ready.map((r) => r.load_s),
    per_proc: done.map((d) => ({ images: d.images, faces: d.faces, seconds: d.seconds })),
    versions: ready[0].versions,
  };
  common.writeSummary(args.out, summary);
  console.log(`faceapi wild: ${files.length} images, ${summary.faces} faces (${summary.no_face} images without one, ${summary.failed} failed) in ${wall.toFixed(2)} s (${summary.images_per_s.toFixed(2)} images/s), detector ${config.detector}, landmarks ${config.landmarks}, ${procs} processes, ${summary.backend} backend, ${summary.threads_per_proc} thread each`);
}

async function child(nextMessage) {
  const t0 = performance.now();
  const rt = await common.loadRuntime();
  const { tf, faceapi } = rt;
  const dir = common.modelDir();
  const tinyLandmarks = config.landmarks === 'tiny';
  await (config.detector === 'ssd' ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector).loadFromDisk(dir);
  await (tinyLandmarks ? faceapi.nets.faceLandmark68TinyNet : faceapi.nets.faceLandmark68Net).loadFromDisk(dir);
  await faceapi.nets.ageGenderNet.loadFromDisk(dir);
  const options = config.detector === 'ssd'
    ? new faceapi.SsdMobilenetv1Options({ minConfidence: config.min_confidence })
    : new faceapi.TinyFaceDetectorOptions({ inputSize: config.input_size, scoreThreshold: config.score_threshold });
  const job = await nextMessage();

  // decode returns {tensor, width, height}, an int32 RGB tensor [H, W, 3] of
  // the upright image, or an Error.
  const decode = (file) => common.decode(rt, file, true);
  // run returns the JSONL lines of one decoded image.
  const run = async (file, d) => {
    const base = { file: path.basename(file), path: file };
    if (d instanceof Error) return [JSON.stringify({ ...base, error: String(d.message) })];
    const faces = await faceapi.detectAllFaces(d.tensor, options).withFaceLandmarks(tinyLandmarks).withAgeAndGender();
    tf.dispose(d.tensor);
    const size = { width: d.width, height: d.height };
    if (faces.length === 0) return [JSON.stringify({ ...base, ...size, faces: 0 })];
    return faces.map((f, i) => {
      const { box, score } = f.detection;
      return JSON.stringify({
        ...base,
        ...size,
        face: i,
        box_x: box.x,
        box_y: box.y,
        box_width: box.width,
        box_height: box.height,
        score,
        age: f.age,
        gender: f.gender,
        gender_probability: f.genderProbability,
      });
    });
  };

  // Warm-up: the child's first image, its results dropped, so that no
  // kernel setup is timed.
  if (job.files.length > 0) {
    await run(job.files[0], await decode(job.files[0]));
  }
  common.ready(rt, t0);
  await nextMessage(); // go

  const start = performance.now();
  const lines = [];
  let failed = 0;
  let noFace = 0;
  let faceCount = 0;
  const files = job.files;
  let next = files.length > 0 ? decode(files[0]) : null;
  for (let i = 0; i < files.length; i++) {
    const decoded = await next;
    if (i + 1 < files.length) next = decode(files[i + 1]); // decode ahead while this one runs
    let out;
    try {
      out = await run(files[i], decoded);
    } catch (err) {
      if (!(decoded instanceof Error)) tf.dispose(decoded.tensor);
      out = [JSON.stringify({ file: path.basename(files[i]), path: files[i], error: String(err.message || err) })];
    }
    const first = JSON.parse(out[0]);
    if (first.error !== undefined) failed++;
    else if (first.faces === 0) noFace++;
    else faceCount += out.length;
    lines.push(...out);
  }
  common.finish(job.out, lines, {
    images: files.length, faces: faceCount, no_face: noFace, failed, seconds: (performance.now() - start) / 1000,
  });
}

common.main('faceapi wild', primary, child);
