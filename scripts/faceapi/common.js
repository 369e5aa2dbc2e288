// What agegender.js and wild.js share: their --name=value arguments, the
// face-api runtime they load (@vladmandic/face-api on TensorFlow.js's WASM
// backend, one thread, sharp for decoding) and their clocking scheme.
//
// Clocking: the primary process splits the list round-robin between --procs
// child processes (one per core, one WASM thread each), forked from the same
// script with FACEAPI_CHILD=K. The primary sends each child its files and
// the path of its DIR/part-K.jsonl; the child loads its models, warms up and
// reports ready; once all are ready the primary starts the clock and tells
// them to go. The clock stops when the last child reports done, so it holds
// decoding, inference and writing, not model loading nor the warm-up.
'use strict';

const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');

// parseArgs returns the --name=value arguments as an object of strings; it
// throws on any other argument.
function parseArgs(argv) {
  return Object.fromEntries(argv.map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`bad argument ${a} (want --name=value)`);
    return [m[1], m[2]];
  }));
}

// modelDir returns the folder of face-api's bundled model weights.
function modelDir() {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

// readList returns the non-empty lines of a list file, one image path each.
function readList(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

// clock runs the primary's side of the scheme: it forks procs children of
// script with childArgs, shares files between them, waits until all are
// ready, starts the clock, tells them to go and waits until all are done.
// It returns the children's ready messages, their done messages (each with
// end, when it came) and the wall time in seconds.
async function clock({ script, files, procs, out, childArgs }) {
  fs.mkdirSync(out, { recursive: true });
  const children = [];
  for (let k = 0; k < procs; k++) {
    const mine = files.filter((_, i) => i % procs === k);
    const child = fork(script, childArgs, { env: { ...process.env, FACEAPI_CHILD: String(k) } });
    children.push(new Promise((resolve, reject) => {
      child.on('message', (m) => {
        if (m.type === 'ready') child.emit('ready-msg', m);
        if (m.type === 'done') resolve({ ...m, end: performance.now() });
      });
      child.on('exit', (code) => { if (code !== 0) reject(new Error(`child ${k} exited with ${code}`)); });
      child.send({ type: 'files', files: mine, out: path.join(out, `part-${k}.jsonl`) });
    }));
    children[k].child = child;
  }
  const ready = await Promise.all(children.map((c) => new Promise((resolve) => c.child.once('ready-msg', resolve))));
  const t0 = performance.now();
  for (const c of children) c.child.send({ type: 'go' });
  const done = await Promise.all(children);
  const wall = (Math.max(...done.map((d) => d.end)) - t0) / 1000;
  return { ready, done, wall };
}

// writeSummary writes DIR/summary.json.
function writeSummary(out, summary) {
  fs.writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

// loadRuntime loads sharp and TensorFlow.js on its WASM backend, one thread
// each, and face-api's Node WASM build, and returns them.
async function loadRuntime() {
  const sharp = require('sharp');
  const tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  sharp.concurrency(1); // libvips threads per image: one core per process
  wasm.setThreadsCount(1); // Node has no WASM threads anyway; be explicit
  await tf.setBackend('wasm');
  await tf.ready();
  return { sharp, tf, wasm, faceapi };
}

// decode returns {tensor, width, height}, an int32 RGB tensor [H, W, 3] of
// the file (turned upright by its EXIF orientation when upright is true),
// or an Error.
async function decode(rt, file, upright) {
  try {
    let img = rt.sharp(file);
    if (upright) img = img.rotate();
    const { data, info } = await img.toColourspace('srgb').removeAlpha()
      .raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels`);
    return { tensor: rt.tf.tensor3d(data, [info.height, info.width, 3], 'int32'), width: info.width, height: info.height };
  } catch (err) {
    return err;
  }
}

// ready tells the primary that this child is ready, with its backend, its
// threads, how long it took since t0 and the versions it runs.
function ready(rt, t0) {
  const { sharp, tf, wasm, faceapi } = rt;
  process.send({
    type: 'ready',
    backend: tf.getBackend(),
    threads: wasm.getThreadsCount(),
    load_s: (performance.now() - t0) / 1000,
    versions: { faceapi: faceapi.version, tfjs: tf.version.tfjs, sharp: sharp.versions.sharp, vips: sharp.versions.vips, node: process.versions.node },
  });
}

// finish writes the child's JSONL lines to file, tells the primary it is
// done with the fields of done and lets the child exit.
function finish(file, lines, done) {
  fs.writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '');
  process.send({ type: 'done', ...done });
  process.disconnect();
}

// main runs child(nextMessage) in a child process (FACEAPI_CHILD set) or
// primary() in the primary one; on an error it prints it after label and
// exits with 1. nextMessage returns the next message from the primary;
// messages are queued from the start, so none is lost while models load.
function main(label, primary, child) {
  const isChild = process.env.FACEAPI_CHILD !== undefined;
  const inbox = [];
  const waiting = [];
  if (isChild) {
    process.on('message', (m) => (waiting.length ? waiting.shift()(m) : inbox.push(m)));
  }
  const nextMessage = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve)));
  (isChild ? child(nextMessage) : primary()).catch((err) => {
    console.error(`${label}: ${err.stack || err}`);
    process.exit(1);
  });
}

module.exports = {
  parseArgs, modelDir, readList, clock, writeSummary, loadRuntime, decode, ready, finish, main,
};
