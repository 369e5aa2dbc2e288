// Package tfexample holds the Go types generated from schemas/example.proto:
// a wire-compatible copy of TensorFlow's tf.train.Example, Features, Feature
// and the three list messages (BytesList, FloatList, Int64List).
//
// Regenerate with go generate ./schemas (see schemas/gen.go).
package tfexample
