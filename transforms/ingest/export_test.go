package ingest

// SetFailOnceDir makes each shard writer of this process fail halfway
// through its first attempt, recording the attempt as a marker file in dir
// (see failOnceDir); "" turns it off. Prism runs the workers of a test's
// pipelines in the test's process, so the seam reaches them.
func SetFailOnceDir(dir string) { failOnceDir = dir }

// SetFileBudget replaces the bytes of input files the shard writers of this
// process may hold at once, and returns a function that reports the most
// bytes held since and restores the budget.
func SetFileBudget(total int64) (peakAndRestore func() int64) {
	orig := fileBudget
	fileBudget = newByteBudget(total)
	return func() int64 {
		b := fileBudget
		fileBudget = orig
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.peak
	}
}
