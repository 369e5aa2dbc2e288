package schemas

// The Go code in tfexample/ is generated from example.proto, which registers
// with the protobuf runtime as "schemas/example.proto". Regenerating it needs
// protoc (3.x or later) and protoc-gen-go v1.36.12 on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./schemas
//
// The generated file is committed, so ordinary builds need neither tool.
//
//go:generate protoc --proto_path=.. --go_out=.. --go_opt=module=github.com/facepipe/facepipe schemas/example.proto
