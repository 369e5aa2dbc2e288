//go:build unix

package fsio

import (
	"io/fs"
	"syscall"
)

// idOf identifies the file st describes (found at path) by device and inode.
func idOf(path string, st fs.FileInfo) fileID {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(sys.Dev), ino: uint64(sys.Ino)}
	}
	return fileID{path: realPath(path)}
}
