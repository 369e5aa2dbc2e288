//go:build !unix

package fsio

import "io/fs"

// idOf identifies the file st describes (found at path) by its path without
// links.
func idOf(path string, st fs.FileInfo) fileID { return fileID{path: realPath(path)} }
