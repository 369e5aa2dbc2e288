package fsio

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Outside drops from a listing of an input the files under dir, a run's
// output folder inside its input folder, which a rerun would otherwise read
// back as inputs (its own Parquet and JSON files, rejected, or its
// annotated photos, scored). When it drops any, it writes one note to
// ListNotes, naming the folder and the count. Local paths are compared
// absolute and with links resolved; gs:// ones as written.
func Outside(spec string, files []string, dir string) []string {
	if dir == "" || len(files) == 0 {
		return files
	}
	under := underFunc(dir)
	kept := files[:0:0]
	skipped := 0
	for _, f := range files {
		if under(f) {
			skipped++
			continue
		}
		kept = append(kept, f)
	}
	if skipped > 0 {
		fmt.Fprintf(ListNotes, "listing %s: skipped %d files under the output folder %s, which is inside the input\n", spec, skipped, dir)
	}
	return kept
}

// underFunc returns a test of whether a path lies under dir.
func underFunc(dir string) func(string) bool {
	if IsGCS(dir) {
		prefix := strings.TrimSuffix(dir, "/") + "/"
		return func(p string) bool { return strings.HasPrefix(p, prefix) }
	}
	dir = ExpandHome(dir)
	var prefixes []string
	if abs, err := filepath.Abs(dir); err == nil {
		prefixes = append(prefixes, strings.TrimSuffix(abs, string(filepath.Separator))+string(filepath.Separator))
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			prefixes = append(prefixes, strings.TrimSuffix(real, string(filepath.Separator))+string(filepath.Separator))
		}
	}
	realDirs := map[string]string{} // a file's folder → that folder resolved
	return func(p string) bool {
		if IsGCS(p) {
			return false
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return false
		}
		for _, pre := range prefixes {
			if strings.HasPrefix(abs, pre) {
				return true
			}
		}
		// The input may reach the output through a link.
		d := filepath.Dir(abs)
		real, ok := realDirs[d]
		if !ok {
			real, _ = filepath.EvalSymlinks(d)
			realDirs[d] = real
		}
		if real == "" {
			return false
		}
		real += string(filepath.Separator)
		for _, pre := range prefixes {
			if strings.HasPrefix(real, pre) {
				return true
			}
		}
		return false
	}
}
