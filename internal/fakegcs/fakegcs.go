// Package fakegcs serves an in-process fake Cloud Storage on 127.0.0.1 for
// tests, with fake-gcs-server, and points the storage client at it.
package fakegcs

import (
	"net/url"
	"os"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/facepipe/facepipe/internal/fixtures"
	"github.com/facepipe/facepipe/internal/fsio"
)

// Start serves an in-process fake Cloud Storage on 127.0.0.1 holding the
// given local files under gs://bucket/prefix/, and points the storage client
// at it.
func Start(t *testing.T, bucket, prefix string, files []fixtures.File) {
	t.Helper()
	var objects []fakestorage.Object
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		objects = append(objects, fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: prefix + "/" + f.Name},
			Content:     b,
		})
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", InitialObjects: objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	fsio.Reset()
}
