package main

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The image `make image` wrote, checked the way a node would use it: the
// index, each platform's config, and the host platform's filesystem
// unpacked and run (kgctl, and iptables-restore/iptables-save inside a
// fresh network namespace). `make image-test` sets KGCTL_IMAGE.
func TestImage(t *testing.T) {
	dir := os.Getenv("KGCTL_IMAGE")
	if dir == "" {
		t.Skip("KGCTL_IMAGE is not set: run `make image-test`")
	}
	version := os.Getenv("KGCTL_IMAGE_VERSION")
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// The layout's index.json is the image index itself (layout.Write).
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		arch := m.Platform.Architecture
		t.Run(arch, func(t *testing.T) {
			checkConfig(t, img, arch, version)
			root := t.TempDir()
			if err := extract(img, root); err != nil {
				t.Fatal(err)
			}
			checkELF(t, root, arch)
			if arch == runtime.GOARCH {
				checkRun(t, root, version)
			}
		})
	}
}

func checkConfig(t *testing.T, img v1.Image, arch, version string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	type config struct {
		OS, Arch, User string
		Entrypoint     []string
		Cmd            []string
	}
	want := config{OS: "linux", Arch: arch, User: "0:0", Entrypoint: []string{"/usr/local/bin/kgctl"}, Cmd: []string{"agent"}}
	got := config{OS: cf.OS, Arch: cf.Architecture, User: cf.Config.User, Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	for _, k := range []string{"title", "source", "version", "revision", "created", "licenses"} {
		if cf.Config.Labels["org.opencontainers.image."+k] == "" {
			t.Errorf("config: label org.opencontainers.image.%s missing", k)
		}
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; version != "" && v != version {
		t.Errorf("config: label org.opencontainers.image.version = %q, want %q", v, version)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, l := range layers {
		n, _ := l.Size()
		total += n
	}
	t.Logf("linux/%s: %d layers, %.1f MiB compressed", arch, len(layers), float64(total)/(1<<20))
}

// checkELF: kgctl is static, and every shipped executable is for arch.
func checkELF(t *testing.T, root, arch string) {
	t.Helper()
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	for _, f := range []string{"usr/local/bin/kgctl", "usr/sbin/xtables-nft-multi"} {
		e, err := elf.Open(filepath.Join(root, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if e.Machine != machine {
			t.Errorf("%s: machine %v, want %v", f, e.Machine, machine)
		}
		interp := false
		for _, p := range e.Progs {
			interp = interp || p.Type == elf.PT_INTERP
		}
		if f == "usr/local/bin/kgctl" && interp {
			t.Errorf("%s: dynamically linked, want static (CGO_ENABLED=0)", f)
		}
		e.Close()
	}
}

// checkRun runs the image's own programs in its root, in a new mount and
// network namespace so the host's firewall is never touched.
func checkRun(t *testing.T, root, version string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running the image's programs needs root (chroot, unshare)")
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("unshare", append([]string{"-m", "-n", "chroot", root}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("", "/usr/local/bin/kgctl", "version"); !strings.Contains(out, version) {
		t.Errorf("kgctl version = %q, want it to name %q", out, version)
	}
	if out := run("", "iptables", "--version"); !strings.Contains(out, "nf_tables") {
		t.Errorf("iptables --version = %q, want the nf_tables backend", out)
	}
	// One namespace for restore then save, as the agent does it.
	rules := "*nat\n:KILO-NAT - [0:0]\n-A KILO-NAT -d 10.4.0.0/16 -m comment --comment kgctl -j RETURN\n-A KILO-NAT -j MASQUERADE\nCOMMIT\n"
	for _, family := range []string{"iptables", "ip6tables"} {
		r := strings.ReplaceAll(rules, "10.4.0.0/16", map[string]string{"iptables": "10.4.0.0/16", "ip6tables": "fd00::/64"}[family])
		cmd := exec.Command("unshare", "-m", "-n", "sh", "-c",
			"chroot \"$0\" "+family+"-restore -w --noflush && chroot \"$0\" "+family+"-save -t nat", root)
		cmd.Stdin = strings.NewReader(r)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s-restore | %s-save: %v\n%s", family, family, err, out)
		}
		if !strings.Contains(string(out), "-j MASQUERADE") || !strings.Contains(string(out), "--comment kgctl") {
			t.Errorf("%s-save after restore:\n%s\nwant the rules restored (comment and MASQUERADE extensions loaded)", family, out)
		}
	}
}

// extract writes the image's flattened filesystem (mutate.Extract) under root.
func extract(img v1.Image, root string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(h.Linkname, p)
			}
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = writeFile(p, tr, os.FileMode(h.Mode).Perm())
			}
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(p string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
