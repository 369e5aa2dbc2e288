// Package beamreg registers the pipelines' structural DoFns with Beam.
//
// Beam's register.DoFnNxM registers a DoFn with generic wrappers that spare
// reflection at run time, but each call instantiates Beam's bundle-method
// wrappers for every combination of its parameter types: 39 of them made
// transforms/ingest take 3.0 GB and 83 s to compile, against 0.13 GB and
// 1.7 s without (scripts/bench-build.sh). Registering the type instead is
// what Beam needs to find the DoFn by name on any runner and in stripped
// worker binaries; its methods are then called through reflection, about a
// microsecond per call, nothing beside decoding an image. Functions,
// emitters and iterators keep register's generic forms, which are cheap to
// compile.
package beamreg

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// DoFn registers the structural DoFns given as pointers (&writeFn{}).
func DoFn(fns ...any) {
	for _, fn := range fns {
		beam.RegisterType(reflect.TypeOf(fn).Elem())
	}
}
