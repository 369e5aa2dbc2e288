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
// straight into RGB with libjpeg-turbo: fancy upsampling and the accurate
// integer IDCT, as Pillow decodes. It reports false, leaving the file to the
// pure-Go decoder, for CMYK and YCCK files and for anything libjpeg-turbo
// warns about (truncated or corrupt data), so that both builds reject the
// same files for the same reasons.
func decodeJPEGNative(data []byte, info Info) (*RGB, bool) {
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
	m := &RGB{Width: info.Width, Height: info.Height, Pix: make([]uint8, 3*info.Width*info.Height)}
	dst := (*C.uchar)(unsafe.Pointer(&m.Pix[0]))
	if C.tjDecompress2(h, src, C.ulong(len(data)), dst, w, 0, ht, C.TJPF_RGB, C.TJFLAG_STOPONWARNING) != 0 {
		return nil, false
	}
	return m, true
}
