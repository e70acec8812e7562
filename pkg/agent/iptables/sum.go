package iptables

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
)

// ruleSetSum hashes everything of rs that prepare reads, unambiguously
// (lengths before contents).
func (c *Controller) ruleSetSum(rs RuleSet) sum {
	w := newSumWriter(c.seeds)
	w.uint(uint64(len(rs.Chains)))
	for _, ch := range rs.Chains {
		w.uint(uint64(ch.Family))
		w.string(ch.Table)
		w.string(ch.Name)
	}
	w.uint(uint64(len(rs.Rules)))
	for _, r := range rs.Rules {
		w.uint(uint64(r.Family))
		w.string(r.Table)
		w.string(r.Chain)
		w.uint(uint64(len(r.Spec)))
		for _, a := range r.Spec {
			w.string(a)
		}
	}
	return w.sum()
}

// saveSum hashes iptables-save output as parseSave reads it: comment and
// blank lines (iptables-save's "Generated ... on <date>") are left out, so
// are a line's trailing carriage returns and, of a chain line, all but its
// name and policy (the packet and byte counters). Two outputs with the
// same sum parse alike.
func (c *Controller) saveSum(out []byte) sum {
	w := newSumWriter(c.seeds)
	for len(out) > 0 {
		line := out
		if n := bytes.IndexByte(out, '\n'); n >= 0 {
			line, out = out[:n], out[n+1:]
		} else {
			out = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] == ':' {
			// parseSave reads the first two fields of a chain line.
			if f := bytes.Fields(line[1:]); len(f) >= 2 {
				w.uint(uint64(len(f[0]) + len(f[1]) + 2))
				w.bytes([]byte{':'})
				w.bytes(f[0])
				w.bytes([]byte{' '})
				w.bytes(f[1])
				continue
			}
		}
		w.uint(uint64(len(line)))
		w.bytes(line)
	}
	return w.sum()
}

// sumWriter feeds both hashes of a sum through a buffer: one Write per
// small value would cost more than the hashing.
type sumWriter struct {
	h   [2]maphash.Hash
	buf []byte
}

func newSumWriter(seeds [2]maphash.Seed) *sumWriter {
	w := &sumWriter{buf: make([]byte, 0, 8192)}
	for i := range w.h {
		w.h[i].SetSeed(seeds[i])
	}
	return w
}

func (w *sumWriter) flush() {
	for i := range w.h {
		_, _ = w.h[i].Write(w.buf)
	}
	w.buf = w.buf[:0]
}

func (w *sumWriter) uint(u uint64) {
	if len(w.buf)+binary.MaxVarintLen64 > cap(w.buf) {
		w.flush()
	}
	w.buf = binary.AppendUvarint(w.buf, u)
}

func (w *sumWriter) bytes(b []byte) {
	if len(w.buf)+len(b) > cap(w.buf) {
		w.flush()
		if len(b) > cap(w.buf) {
			for i := range w.h {
				_, _ = w.h[i].Write(b)
			}
			return
		}
	}
	w.buf = append(w.buf, b...)
}

func (w *sumWriter) string(s string) {
	w.uint(uint64(len(s)))
	if len(w.buf)+len(s) > cap(w.buf) {
		w.flush()
		if len(s) > cap(w.buf) {
			for i := range w.h {
				_, _ = w.h[i].WriteString(s)
			}
			return
		}
	}
	w.buf = append(w.buf, s...)
}

func (w *sumWriter) sum() sum {
	w.flush()
	return sum{w.h[0].Sum64(), w.h[1].Sum64()}
}
