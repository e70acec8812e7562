package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Meta is what the image says about itself.
type Meta struct {
	Version, Revision string
	Created           time.Time
}

// Labels are the org.opencontainers.image.* annotations, set both as
// config labels and as index annotations.
func (m Meta) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "kgctl",
		"org.opencontainers.image.description": "WireGuard mesh for Kubernetes, compatible with Kilo: the agent and kgctl",
		"org.opencontainers.image.source":      "https://github.com/kgctl/kgctl",
		"org.opencontainers.image.url":         "https://github.com/kgctl/kgctl",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.version":     m.Version,
		"org.opencontainers.image.created":     m.Created.Format(time.RFC3339),
	}
	if m.Revision != "" {
		l["org.opencontainers.image.revision"] = m.Revision
	}
	return l
}

// Image is linux/ARCH's image: IN/ARCH/rootfs as the tools layer and
// IN/ARCH/kgctl at Binary as the top layer, so a new kgctl reuses the
// tools layer already pulled.
func Image(in, arch string, meta Meta) (v1.Image, error) {
	tools, err := dirLayer(filepath.Join(in, arch, "rootfs"), meta.Created)
	if err != nil {
		return nil, fmt.Errorf("tools layer: %w", err)
	}
	bin, err := fileLayer(filepath.Join(in, arch, "kgctl"), Binary, meta.Created)
	if err != nil {
		return nil, fmt.Errorf("kgctl layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, tools, bin)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: meta.Created}
	cf.Author = "kgctl"
	cf.Config.Entrypoint = []string{Binary}
	cf.Config.Cmd = []string{"agent"}
	// The agent configures WireGuard, routes and iptables on the host:
	// it runs as root (and privileged); said explicitly, not left unset.
	cf.Config.User = "0:0"
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = meta.Labels()
	cf.History = []v1.History{
		{Created: cf.Created, CreatedBy: "hack/image/fetch-debs.sh " + arch + ": iptables (nft) and its libraries from Debian", Comment: "tools"},
		{Created: cf.Created, CreatedBy: "kgctl " + meta.Version + " (CGO_ENABLED=0)", Comment: "kgctl"},
	}
	return mutate.ConfigFile(img, cf)
}

// fileLayer is a layer holding one executable file at dest, which is
// under /usr/local/bin.
func fileLayer(src, dest string, mtime time.Time) (v1.Layer, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dest[1:], Mode: 0o755, Size: int64(len(b)), ModTime: mtime}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return layerOf(buf.Bytes())
}

// dirLayer is a layer of everything under root, in name order, owned by
// root, with one modification time: the same files give the same digest.
func dirLayer(root string, mtime time.Time) (v1.Layer, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		if err := addPath(tw, root, p, mtime); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return layerOf(buf.Bytes())
}

func addPath(tw *tar.Writer, root, p string, mtime time.Time) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = filepath.ToSlash(rel)
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.ModTime, h.AccessTime, h.ChangeTime = mtime, time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func layerOf(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
