// Command image assembles kgctl's container image without a container
// engine: for each platform, one layer of host tools (the iptables that
// the agent execs and the shared libraries it loads, unpacked from
// Debian's packages by fetch-debs.sh) and one layer holding the static
// kgctl binary, written as an OCI image layout whose index lists every
// platform, and optionally pushed to a registry.
//
// It does not download anything itself and does not build kgctl: the
// Makefile's image target prepares, per GOARCH, DIR/ARCH/kgctl and
// DIR/ARCH/rootfs, and this program only packs them.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Binary is where kgctl lives inside the image; the entrypoint.
const Binary = "/usr/local/bin/kgctl"

type options struct {
	in, out, push, tarball string
	archs                  []string
	meta                   Meta
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("image: ")
	var o options
	var archs, epoch string
	flag.StringVar(&o.in, "in", "dist/image-build", "directory with ARCH/kgctl and ARCH/rootfs for every -arch")
	flag.StringVar(&o.out, "out", "dist/image", "OCI image layout to write (replaced)")
	flag.StringVar(&archs, "arch", "amd64,arm64", "comma-separated GOARCH list (linux only)")
	flag.StringVar(&o.meta.Version, "version", "dev", "image version (org.opencontainers.image.version)")
	flag.StringVar(&o.meta.Revision, "revision", "", "source commit (org.opencontainers.image.revision)")
	flag.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "creation time in Unix seconds, for reproducible images (default: the Unix epoch)")
	flag.StringVar(&o.push, "push", "", "also push the index to this reference (e.g. ghcr.io/kgctl/kgctl:v0.1.0), with the credentials of ~/.docker/config.json")
	flag.StringVar(&o.tarball, "tarball", "", "also write the first -arch's image as a `docker load` tarball here")
	flag.Parse()
	o.archs = strings.Split(archs, ",")
	if epoch != "" {
		s, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			log.Fatalf("-source-date-epoch: %q is not a number of seconds: %v", epoch, err)
		}
		o.meta.Created = time.Unix(s, 0).UTC()
	} else {
		o.meta.Created = time.Unix(0, 0).UTC()
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	idx, images, err := Index(o.in, o.archs, o.meta)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	if _, err := layout.Write(o.out, idx); err != nil {
		return fmt.Errorf("write OCI layout %s: %w", o.out, err)
	}
	d, _ := idx.Digest()
	fmt.Printf("image: %s (OCI layout, index %s, %s)\n", o.out, d, strings.Join(o.archs, ", "))
	if o.tarball != "" {
		ref, err := name.ParseReference("ghcr.io/kgctl/kgctl:" + tagOf(o.meta.Version))
		if err != nil {
			return err
		}
		if err := tarball.WriteToFile(o.tarball, ref, images[0]); err != nil {
			return fmt.Errorf("write tarball %s: %w", o.tarball, err)
		}
		fmt.Printf("image: %s (docker load, linux/%s, %s)\n", o.tarball, o.archs[0], ref)
	}
	if o.push != "" {
		ref, err := name.ParseReference(o.push)
		if err != nil {
			return fmt.Errorf("-push: %q: %w", o.push, err)
		}
		if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		fmt.Printf("image: pushed %s@%s\n", ref, d)
	}
	return nil
}

// Index builds one image per architecture and the index that lists them.
func Index(in string, archs []string, meta Meta) (v1.ImageIndex, []v1.Image, error) {
	var idx v1.ImageIndex = empty.Index
	var images []v1.Image
	for _, arch := range archs {
		img, err := Image(in, arch, meta)
		if err != nil {
			return nil, nil, fmt.Errorf("linux/%s: %w", arch, err)
		}
		images = append(images, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return mutate.Annotations(idx, meta.Labels()).(v1.ImageIndex), images, nil
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`)

// tagOf is the tag for a version: a release version (goreleaser's
// .Version drops the tag's v) gets its v back; anything else is kept.
func tagOf(version string) string {
	if version == "" || version == "dev" {
		return "dev"
	}
	if semver.MatchString(version) {
		return "v" + version
	}
	return version
}
