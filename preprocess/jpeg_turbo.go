//go:build turbojpeg && cgo

package preprocess

// #cgo LDFLAGS: -l:libturbojpeg.a
// #include <turbojpeg.h>
import "C"

import (
	"runtime"
	"unsafe"
)

// NativeJPEG names the JPEG decoder of this build.
const NativeJPEG = "libjpeg-turbo (TurboJPEG, static)"

// handles holds idle TurboJPEG decompressors; they live as long as the
// process.
var handles = make(chan C.tjhandle, 4*runtime.GOMAXPROCS(0))

func getHandle() C.tjhandle {
	select {
	case h := <-handles:
		return h
	default:
		return C.tjInitDecompress()
	}
}

func putHandle(h C.tjhandle) {
	select {
	case handles <- h:
	default:
		C.tjDestroy(h)
	}
}

// decodeJPEGNative decodes a baseline or progressive YCbCr or grayscale JPEG
// straight into RGB with libjpeg-turbo, reduced by the factor d (1, 2, 4 or
// 8) with its IDCT scaling to ⌈W/d⌉×⌈H/d⌉: fancy upsampling and the accurate
// integer IDCT, as Pillow decodes. It reports false, leaving the file to the
// pure-Go decoder, for CMYK and YCCK files and for anything libjpeg-turbo
// warns about (truncated or corrupt data), so that both builds reject the
// same files for the same reasons; and for reductions of images under 8
// pixels on a side, where TurboJPEG might pick another scaling factor of
// the same size.
func decodeJPEGNative(data []byte, info Info, d int) (*RGB, bool) {
	if d > 1 && min(info.Width, info.Height) < 8 {
		return nil, false
	}
	h := getHandle()
	if h == nil {
		return nil, false
	}
	defer putHandle(h)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var w, ht, subsamp, cs C.int
	if C.tjDecompressHeader3(h, src, C.ulong(len(data)), &w, &ht, &subsamp, &cs) != 0 {
		return nil, false
	}
	if int(w) != info.Width || int(ht) != info.Height || (cs != C.TJCS_YCbCr && cs != C.TJCS_GRAY && cs != C.TJCS_RGB) {
		return nil, false
	}
	// TurboJPEG picks the largest scaling factor n/8 whose output fits the
	// requested size. With both sides ≥ 8, the next larger one after 1/d,
	// (8/d+1)/8, adds at least a pixel to each side, so 1/d it is.
	sw, sh := ceilDiv(info.Width, d), ceilDiv(info.Height, d)
	m := &RGB{Width: sw, Height: sh, Pix: make([]uint8, 3*sw*sh)}
	dst := (*C.uchar)(unsafe.Pointer(&m.Pix[0]))
	if C.tjDecompress2(h, src, C.ulong(len(data)), dst, C.int(sw), 0, C.int(sh), C.TJPF_RGB, C.TJFLAG_STOPONWARNING) != 0 {
		return nil, false
	}
	return m, true
}
