// Package flanneld pins the flannel release the add-on end-to-end test
// runs (hack/build-flanneld.sh builds its main package from the Go module
// proxy); it holds no code of its own.
package flanneld
