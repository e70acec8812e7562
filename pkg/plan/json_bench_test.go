package plan

import (
	"bufio"
	"io"
	"testing"

	"github.com/kgctl/kgctl/pkg/topology"
)

// BenchmarkNodeJSON renders node changes of a flip to a full mesh of
// 2,000 nodes (a leader's and followers', each ~2,700 routes added and
// up to ~4,000 removed, ~2,000 WireGuard peers) without computing them.
func BenchmarkNodeJSON(b *testing.B) {
	c := benchCluster(2_000, 50)
	before := mustBuild(b, c)
	c.Settings.Granularity = topology.FullGranularity
	after := mustBuild(b, c)
	p := New(State{Mesh: before}, State{Mesh: after})
	var changes []NodeChange
	var memos [][]*peerMemo
	_ = p.src.each([]int{0, 1, 2, 50, 51, 1000, 1999}, eachMode{packed: true}, func(_ int, ch *NodeChange) error {
		changes = append(changes, ownChange(ch))
		memos = append(memos, append([]*peerMemo(nil), ch.memos...))
		return nil
	})
	for i := range changes {
		changes[i].memos = memos[i]
	}
	bw := bufio.NewWriterSize(io.Discard, 64<<10)
	nw := nodeJSONWriter{w: bw}
	b.ReportAllocs()
	for b.Loop() {
		for i := range changes {
			if err := nw.node(&changes[i], i == 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
