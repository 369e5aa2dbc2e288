//go:build !turbojpeg || !cgo

package preprocess

// NativeJPEG names the JPEG decoder of this build.
const NativeJPEG = "image/jpeg (pure Go; build with -tags turbojpeg for libjpeg-turbo)"

// decodeJPEGNative is the hook of the libjpeg-turbo build; this build decodes
// every JPEG with image/jpeg.
func decodeJPEGNative([]byte, Info, int) (*RGB, bool) { return nil, false }
