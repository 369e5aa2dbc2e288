// Command fakegcsd serves a fake Cloud Storage (fake-gcs-server, in memory)
// on a local address, holding the files of a folder under gs://BUCKET/PREFIX/,
// until it is killed: for scripts/faults.sh, which kills it in the middle of
// a run and starts it again. Point a binary at it with
// STORAGE_EMULATOR_HOST=ADDR. It prints "serving ..." once it listens.
//
// An object's generation is its file's modification time in nanoseconds, so
// that a restarted server holds the same generations, as Cloud Storage would
// after an outage: the storage client resumes a read cut short at the
// generation it began with, and a fresh generation would answer "object
// doesn't exist".
//
//	go run ./scripts/fakegcsd -addr 127.0.0.1:4443 -bucket b -dir /tmp/in -prefix in
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4443", "host:port to listen on")
	bucket := flag.String("bucket", "bucket", "bucket to create")
	dir := flag.String("dir", "", "folder whose files (recursively) become objects under PREFIX/ (none if empty)")
	prefix := flag.String("prefix", "in", "object name prefix of the folder's files")
	flag.Parse()
	if err := run(*addr, *bucket, *dir, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "fakegcsd:", err)
		os.Exit(1)
	}
}

func run(addr, bucket, dir, prefix string) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("port %q: %w", portStr, err)
	}
	var objects []fakestorage.Object
	if dir != "" {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			objects = append(objects, fakestorage.Object{
				ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: prefix + "/" + filepath.ToSlash(rel), Generation: st.ModTime().UnixNano()},
				Content:     b,
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: host, Port: uint16(port), PublicHost: addr, InitialObjects: objects,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	fmt.Printf("serving gs://%s (%d objects under %s/) at %s\n", bucket, len(objects), prefix, srv.URL())
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	return nil
}
