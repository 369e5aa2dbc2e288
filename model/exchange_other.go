//go:build !linux

package model

import "errors"

// exchange can't swap two folders in one step outside Linux: replaceDir
// renames them one after the other.
func exchange(a, b string) error { return errors.ErrUnsupported }
