// Package interrupt runs cleanups when SIGINT or SIGTERM ends a pipeline
// binary: the output lock is released, train says how to continue. Without
// it Go's default handling ends the process at once and runs nothing.
package interrupt

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	critical sync.RWMutex // held for reading by Critical, for writing by the handler
	mu       sync.Mutex
	next     int
	handlers = map[int]func(os.Signal){}
	watching bool
	exit     = os.Exit
)

// OnSignal registers f to run when SIGINT or SIGTERM arrives; the process
// then exits with status 128 + the signal's number (130, 143) once every
// registered function has returned, the last registered first. The first
// registration starts watching for the signals. It returns a function that
// unregisters f, for the normal end of what f cleans up.
func OnSignal(f func(os.Signal)) (unregister func()) {
	mu.Lock()
	defer mu.Unlock()
	if !watching {
		watching = true
		c := make(chan os.Signal, 2)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		go watch(c)
	}
	id := next
	next++
	handlers[id] = f
	return func() {
		mu.Lock()
		defer mu.Unlock()
		delete(handlers, id)
	}
}

// watch waits for a signal and runs the handlers. A second signal while they
// run ends the process at once.
func watch(c chan os.Signal) {
	sig := <-c
	go func() {
		<-c
		exit(ExitCode(sig))
	}()
	critical.Lock() // let a Critical section in progress end; none starts
	Run(sig)
	exit(ExitCode(sig))
}

// Critical runs f, which writes state that must stay consistent (a
// checkpoint and the file describing it), so that a signal arriving
// meanwhile ends the process only once f has returned. A second signal
// still ends it at once.
func Critical(f func() error) error {
	critical.RLock()
	defer critical.RUnlock()
	return f()
}

// Run runs the registered handlers for sig, the last registered first, and
// unregisters them. The signal handler calls it; a test may too.
func Run(sig os.Signal) {
	mu.Lock()
	fs := make([]func(os.Signal), 0, len(handlers))
	for i := next - 1; i >= 0; i-- {
		if f, ok := handlers[i]; ok {
			fs = append(fs, f)
			delete(handlers, i)
		}
	}
	mu.Unlock()
	for _, f := range fs {
		f(sig)
	}
}

// ExitCode is the shell's status for a process ended by sig: 128 plus its
// number (SIGINT 130, SIGTERM 143).
func ExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
