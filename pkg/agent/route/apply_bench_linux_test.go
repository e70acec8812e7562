package route

import (
	"testing"
	"time"
)

// BenchmarkApplyNoop measures the no-op resync of 10,000 routes in a real
// namespace: list links, addresses, routes and rules, diff, write nothing.
// It reports how long the first Apply (10,000 writes) took.
func BenchmarkApplyNoop(b *testing.B) {
	ns := newNS(b)
	veth(ns, "kilo0", ns, "peer0")
	ns.ip("link set kilo0 up")
	ns.ip("link set peer0 up")
	m := ns.manager(Options{})
	s := State{Routes: benchRoutes(10_000)}
	for i := range s.Routes {
		s.Routes[i].Table = 0
	}
	start := time.Now()
	res, err := m.Apply(s)
	if err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	if res.RoutesAdded != 10_000 {
		b.Fatalf("first apply: %+v", res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := m.Apply(s)
		if err != nil || res.Writes != 0 {
			b.Fatalf("resync: %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-apply-ms")
}
