#!/usr/bin/python3
"""Python peer of pipelines/ingest, for benchmarking (see bench-ingest.sh).

Reads UTKFace crops (age_gender_race_timestamp.jpg.chip.jpg), resizes them
with Pillow's BILINEAR filter to 224x224 RGB, divides by 255 and writes
tf.train.Example records (encoding float32, as the Go pipeline's default)
into TFRecord shards under OUT/tfrecords/{train,valid,test}-SSSSS-of-NNNNN.tfrecord.
Each worker process writes its own shard of each split (shard = file index mod
processes). No TensorFlow and no protobuf library: the Example wire format and
the TFRecord framing are written by hand.

Only Debian's python3-pil, python3-numpy and python3-crcmod are used; run it
with /usr/bin/python3.

    /usr/bin/python3 scripts/peer_ingest.py --input DIR --output OUT [--limit N] [--processes 2] [--breakdown]
    /usr/bin/python3 scripts/peer_ingest.py --verify FILE.tfrecord [--input DIR]

--verify reads a TFRecord file back (either the peer's or the Go pipeline's),
checks both CRCs of every record, parses the first Example by hand and checks
its image and labels; with --input it also recomputes the image from the
source file with Pillow and reports the largest difference.

Differences from the Go pipeline that don't matter for a throughput peer: no
rejects.parquet, no manifest.json, no de-duplication of byte-identical files,
the input folder is read flat (not recursively), and the split is simply
int(sha256 hex) mod 10 (0-7 train, 8 valid, 9 test).
"""

import argparse
import hashlib
import io
import multiprocessing
import os
import struct
import sys
import time

import numpy as np
from PIL import Image
import crcmod
import crcmod.predefined

SIZE = 224
CHANNELS = 3
SPLITS = ("train", "valid", "test")
STAGES = ("read", "sha256", "decode+resize", "float", "serialize", "crc", "write")

_crc32c = crcmod.predefined.mkPredefinedCrcFun("crc-32c")


def using_crc_extension():
    # crcmod/__init__.py re-exports the crcmod.crcmod module's names, shadowing
    # the submodule attribute, so look the module up in sys.modules.
    return bool(getattr(sys.modules.get("crcmod.crcmod"), "_usingExtension", False))


def masked_crc(data):
    c = _crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------------------
# Protobuf wire format, by hand.

def varint(v):
    if v < 0:
        v += 1 << 64  # int64 negatives: 10-byte two's complement varint
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ld(field, payload_len):
    """Tag and length of a length-delimited field (wire type 2)."""
    return varint((field << 3) | 2) + varint(payload_len)


def feature_bytes(values):
    inner = b"".join(ld(1, len(v)) + v for v in values)  # BytesList.value
    return ld(1, len(inner)) + inner  # Feature.bytes_list


def feature_int64(values):
    packed = b"".join(varint(v) for v in values)
    inner = ld(1, len(packed)) + packed  # Int64List.value, packed
    return ld(3, len(inner)) + inner  # Feature.int64_list


def entry(key, feature_parts, feature_len):
    """Parts of one map<string, Feature> entry, wrapped as Features.feature (field 1)."""
    k = key.encode()
    body_head = ld(1, len(k)) + k + ld(2, feature_len)
    body_len = len(body_head) + feature_len
    return [ld(1, body_len) + body_head] + feature_parts, len(ld(1, body_len)) + body_len


def serialize_example(image_f32le, ints, byts):
    """Serializes a tf.train.Example. image_f32le: packed little-endian floats;
    ints: {key: int}; byts: {key: bytes}. Map entries are written sorted by key.
    Returns a list of byte strings to be joined (the image is not copied here)."""
    features = []  # (key, parts, len)
    nimg = len(image_f32le)
    floatlist_head = ld(1, nimg)  # FloatList.value, packed
    img_inner_len = len(floatlist_head) + nimg
    img_head = ld(2, img_inner_len) + floatlist_head  # Feature.float_list
    features.append(("image", [img_head, image_f32le], len(img_head) + nimg))
    for k, v in ints.items():
        f = feature_int64([v])
        features.append((k, [f], len(f)))
    for k, v in byts.items():
        f = feature_bytes([v])
        features.append((k, [f], len(f)))
    features.sort(key=lambda t: t[0])
    parts, total = [], 0
    for k, fp, fl in features:
        ep, el = entry(k, fp, fl)
        parts.extend(ep)
        total += el
    # Example.features (field 1) -> Features.feature entries (already tagged).
    return [ld(1, total)] + parts


# ---------------------------------------------------------------------------
# Labels, as labels.ParseName.

def small_int(s):
    if not s or len(s) > 9 or not all("0" <= ch <= "9" for ch in s):
        return None
    return int(s)


def parse_name(name):
    """(age, gender, race) or None when the name is rejected."""
    fields = name.split("_", 3)
    if len(fields) < 3:
        return None
    age, gender = small_int(fields[0]), small_int(fields[1])
    if age is None or gender is None:
        return None
    race = -1
    if len(fields) == 4:
        race = small_int(fields[2])
        if race is None:
            return None
    if not (1 <= age <= 120) or gender not in (0, 1) or (race != -1 and not 0 <= race <= 4):
        return None
    return age, gender, race


def split_of(sha_hex):
    r = int(sha_hex, 16) % 10
    return "train" if r < 8 else ("valid" if r == 8 else "test")


def preprocess(data):
    img = Image.open(io.BytesIO(data))
    img = img.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    return img


def to_float_bytes(img):
    arr = np.asarray(img, dtype=np.float32) / 255
    return arr.astype("<f4", copy=False).tobytes()


# ---------------------------------------------------------------------------
# Workers.

def worker(args):
    index, nproc, paths, outdir = args
    tfdir = os.path.join(outdir, "tfrecords")
    files = {}
    def shard(split):
        f = files.get(split)
        if f is None:
            name = "%s-%05d-of-%05d.tfrecord" % (split, index, nproc)
            f = files[split] = open(os.path.join(tfdir, name), "wb", buffering=4 << 20)
        return f

    t = dict.fromkeys(STAGES, 0.0)
    written = rejected = 0
    clock = time.perf_counter
    for path in paths[index::nproc]:
        name = os.path.basename(path)
        labels = parse_name(name)
        if labels is None:
            rejected += 1
            continue
        t0 = clock()
        with open(path, "rb") as fh:
            data = fh.read()
        t1 = clock()
        sha = hashlib.sha256(data).hexdigest()
        t2 = clock()
        try:
            img = preprocess(data)
        except Exception:
            rejected += 1
            continue
        t3 = clock()
        floats = to_float_bytes(img)
        t4 = clock()
        split = split_of(sha)
        age, gender, race = labels
        rec = b"".join(serialize_example(
            floats,
            {"age": age, "gender": gender, "race": race,
             "height": SIZE, "width": SIZE, "channels": CHANNELS},
            {"filename": name.encode(), "sha256": sha.encode(), "split": split.encode()}))
        t5 = clock()
        length = struct.pack("<Q", len(rec))
        header = length + struct.pack("<I", masked_crc(length))
        footer = struct.pack("<I", masked_crc(rec))
        t6 = clock()
        f = shard(split)
        f.write(header)
        f.write(rec)
        f.write(footer)
        t7 = clock()
        written += 1
        for stage, a, b in zip(STAGES, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
            t[stage] += b - a
    t0 = clock()
    for f in files.values():
        f.close()
    t["write"] += clock() - t0
    return written, rejected, t


def list_inputs(indir, limit):
    names = sorted(e.name for e in os.scandir(indir) if e.is_file())
    if limit:
        names = names[:limit]
    return [os.path.join(indir, n) for n in names]


def run(opts):
    start = time.perf_counter()
    paths = list_inputs(opts.input, opts.limit)
    os.makedirs(os.path.join(opts.output, "tfrecords"), exist_ok=True)
    nproc = max(1, opts.processes)
    jobs = [(i, nproc, paths, opts.output) for i in range(nproc)]
    if nproc == 1:
        results = [worker(jobs[0])]
    else:
        with multiprocessing.Pool(nproc) as pool:
            results = pool.map(worker, jobs, chunksize=1)
    elapsed = time.perf_counter() - start
    written = sum(r[0] for r in results)
    rejected = sum(r[1] for r in results)
    if opts.breakdown:
        print("peer: crcmod C extension: %s; %d processes; %d written, %d rejected"
              % (using_crc_extension(), nproc, written, rejected), file=sys.stderr)
        total = {s: sum(r[2][s] for r in results) for s in STAGES}
        cpu = sum(total.values())
        n = max(written, 1)
        print("peer: per-image cost (wall time inside the workers, summed over them):", file=sys.stderr)
        for s in STAGES:
            print("  %-14s %7.3f ms  %5.1f%%" % (s, 1e3 * total[s] / n, 100 * total[s] / cpu if cpu else 0),
                  file=sys.stderr)
        print("  %-14s %7.3f ms" % ("total", 1e3 * cpu / n), file=sys.stderr)
    n = len(paths)
    print("peer: %d images in %.2f s (%.0f images/s)" % (n, elapsed, n / elapsed if elapsed else 0))


# ---------------------------------------------------------------------------
# Verification.

def read_varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of a protobuf message; value is
    a memoryview for wire type 2 and an int for varints."""
    buf = memoryview(buf)
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = read_varint(buf, pos)
        elif wt == 2:
            n, pos = read_varint(buf, pos)
            v = buf[pos:pos + n]
            pos += n
            if pos > len(buf):
                raise ValueError("truncated field %d" % num)
        elif wt == 5:
            v = bytes(buf[pos:pos + 4]); pos += 4
        elif wt == 1:
            v = bytes(buf[pos:pos + 8]); pos += 8
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def to_int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def parse_example(rec):
    """{key: ("bytes", [bytes]) | ("float", np.ndarray) | ("int64", [int])}"""
    out, keys = {}, []
    for num, wt, features in fields(rec):
        assert num == 1 and wt == 2, "Example: unexpected field %d" % num
        for num, wt, ent in fields(features):
            assert num == 1 and wt == 2, "Features: unexpected field %d" % num
            key, feat = None, None
            for num, wt, v in fields(ent):
                if num == 1:
                    key = bytes(v).decode()
                elif num == 2:
                    feat = v
            keys.append(key)
            for kind, wt, lst in fields(feat):
                if kind == 1:
                    out[key] = ("bytes", [bytes(v) for n, w, v in fields(lst) if n == 1])
                elif kind == 2:
                    # packed (wire type 2) or one fixed32 (wire type 5) per value
                    vals = [np.frombuffer(v, dtype="<f4") for n, w, v in fields(lst) if n == 1]
                    out[key] = ("float", np.concatenate(vals) if vals else np.zeros(0, np.float32))
                elif kind == 3:
                    vals = []
                    for n, w, v in fields(lst):
                        if w == 2:
                            p = 0
                            while p < len(v):
                                x, p = read_varint(v, p)
                                vals.append(to_int64(x))
                        else:
                            vals.append(to_int64(v))
                    out[key] = ("int64", vals)
    return out, keys


def verify(path, indir):
    ok = True
    def check(cond, msg):
        nonlocal ok
        if not cond:
            ok = False
            print("verify: FAIL: " + msg)
    with open(path, "rb") as f:
        data = f.read()
    pos, records, first = 0, 0, None
    while pos < len(data):
        if pos + 12 > len(data):
            check(False, "truncated header at offset %d" % pos)
            break
        length_bytes = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (lcrc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        check(lcrc == masked_crc(length_bytes), "record %d: length CRC mismatch" % records)
        start, end = pos + 12, pos + 12 + length
        if end + 4 > len(data):
            check(False, "record %d: truncated data" % records)
            break
        rec = data[start:end]
        (dcrc,) = struct.unpack("<I", data[end:end + 4])
        check(dcrc == masked_crc(rec), "record %d: data CRC mismatch" % records)
        if first is None:
            first = rec
        records += 1
        pos = end + 4
    print("verify: %s: %d records, %d bytes, CRCs %s" % (path, records, len(data), "ok" if ok else "BAD"))
    if first is None:
        check(False, "no records")
        return ok
    ex, keys = parse_example(first)
    print("verify: first example: keys %s" % keys)
    check(keys == sorted(keys), "map entries not sorted by key")

    def get(key, kind):
        v = ex.get(key)
        check(v is not None and v[0] == kind, "feature %r: want %s, have %s" % (key, kind, v and v[0]))
        return v[1] if v is not None and v[0] == kind else None

    img = get("image", "float")
    if img is not None:
        check(img.size == SIZE * SIZE * CHANNELS, "image has %d floats, want %d" % (img.size, SIZE * SIZE * CHANNELS))
        check(bool(np.all((img >= 0) & (img <= 1))), "image values outside [0,1]: min %g max %g" % (img.min(), img.max()))
        print("verify: image: %d floats, min %.4f max %.4f mean %.4f" % (img.size, img.min(), img.max(), img.mean()))
    fname = get("filename", "bytes")
    name = fname[0].decode() if fname else ""
    labels = parse_name(name)
    check(labels is not None, "filename %r does not parse" % name)
    got = tuple((get(k, "int64") or [None])[0] for k in ("age", "gender", "race"))
    if labels:
        check(got == labels, "labels %s, file name %r says %s" % (got, name, labels))
    for k, want in (("height", SIZE), ("width", SIZE), ("channels", CHANNELS)):
        v = get(k, "int64")
        check(v == [want], "%s = %s, want %d" % (k, v, want))
    sha = get("sha256", "bytes")
    sha = sha[0].decode() if sha else ""
    check(len(sha) == 64 and all(c in "0123456789abcdef" for c in sha), "sha256 %r is not a hex digest" % sha)
    split = get("split", "bytes")
    split = split[0].decode() if split else ""
    check(split in SPLITS and os.path.basename(path).startswith(split + "-"),
          "split %r does not match shard name %s" % (split, os.path.basename(path)))
    print("verify: %s: age=%s gender=%s race=%s split=%s sha256=%s..." % (name, got[0], got[1], got[2], split, sha[:12]))
    if indir:
        src = os.path.join(indir, name)
        with open(src, "rb") as fh:
            content = fh.read()
        check(hashlib.sha256(content).hexdigest() == sha, "sha256 differs from %s" % src)
        ref = np.frombuffer(to_float_bytes(preprocess(content)), dtype="<f4")
        if img is not None and img.size == ref.size:
            d = np.abs(img - ref)
            print("verify: vs Pillow on %s: max abs diff %.5f (%.2f/255), mean %.6f" % (src, d.max(), d.max() * 255, d.mean()))
    print("verify: %s" % ("OK" if ok else "FAILED"))
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", help="folder of UTKFace JPEGs")
    p.add_argument("--output", help="output folder (tfrecords/ is created in it)")
    p.add_argument("--limit", type=int, default=0, help="ingest only the first N files by name (0: all)")
    p.add_argument("--processes", type=int, default=2, help="worker processes, one shard per split each")
    p.add_argument("--breakdown", action="store_true", help="print the per-image cost of each stage to stderr")
    p.add_argument("--verify", metavar="FILE", help="check a TFRecord file instead of ingesting")
    opts = p.parse_args()
    if opts.verify:
        sys.exit(0 if verify(opts.verify, opts.input) else 1)
    if not opts.input or not opts.output:
        p.error("--input and --output are required")
    run(opts)


if __name__ == "__main__":
    main()
