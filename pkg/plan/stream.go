package plan

import (
	"hash/maphash"
	"runtime"
	"sync"

	"github.com/kgctl/kgctl/pkg/topology"
)

// nodeSource computes node changes on demand, a few at a time, so a plan
// of a whole cluster never holds every node's change at once: in a flip
// to a full mesh each node's change lists every other node, and all of
// them together are the square of the cluster.
type nodeSource struct {
	b, a   *topology.Mesh
	bp, ap topology.Problems
	names  []string
	// e is built on first use, by the goroutine calling each.
	e *entries
	// viaSeed hashes the ways out of packed routes alike in every
	// worker (see viaEntry.sum).
	viaSeed maphash.Seed
}

// eachMode is what a caller of each wants of the changes beyond their
// fields.
type eachMode struct {
	// packed asks for updates' routes packed (the text writer).
	packed bool
	// worker, if set, makes each worker's own function, which the
	// worker calls with every change it computes that changes, before
	// the change is handed on: work on a change done in parallel.
	worker func() func(ch *NodeChange)
}

// batch is how many nodes each worker computes before they are handed
// on: enough to keep the CPUs busy, few enough that a batch of full-mesh
// changes stays small.
const batch = 8

// cacheSpan is how many nodes a worker's prefix cache serves before it is
// dropped: the cache keeps the lists it saw alive (the entries' changes
// are kept: they hold only what the meshes hold).
const cacheSpan = 512

// each calls f, in order, with the change of each of the nodes at the
// given indices that changes; nil indices mean every node.
func (s *nodeSource) each(indices []int, mode eachMode, f func(i int, ch *NodeChange) error) error {
	n := len(s.names)
	if indices != nil {
		n = len(indices)
	}
	at := func(j int) int {
		if indices == nil {
			return j
		}
		return indices[j]
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), (n+batch-1)/batch))
	if s.e == nil {
		s.e = newEntries(s.b, s.a)
		s.viaSeed = maphash.MakeSeed()
	}
	differs := make([]*differ, workers)
	served := make([]int, workers)
	work := make([]func(*NodeChange), workers)
	size := workers * batch
	// Two sets of slots: the workers compute the next batch into one
	// while f consumes the other.
	type slots struct {
		out  []NodeChange
		bufs []nodeBuf
		keep []bool
		wg   sync.WaitGroup
	}
	var sets [2]slots
	for i := range sets {
		sets[i].out, sets[i].bufs, sets[i].keep = make([]NodeChange, size), make([]nodeBuf, size), make([]bool, size)
	}
	compute := func(set *slots, start int) {
		m := min(size, n-start)
		for w := range workers {
			set.wg.Add(1)
			go func() {
				defer set.wg.Done()
				for j := w; j < m; j += workers {
					if differs[w] == nil {
						differs[w] = newDiffer(s.e)
						if mode.packed {
							differs[w].vias = newViaTable(s.viaSeed)
						}
						if mode.worker != nil {
							work[w] = mode.worker()
						}
					}
					if served[w] >= cacheSpan {
						differs[w].c, served[w] = newPrefixCache(), 0
					}
					served[w]++
					differs[w].c.into = &set.bufs[j]
					set.out[j], set.keep[j] = differs[w].nodeChange(s.names[at(start+j)], s.bp, s.ap)
					differs[w].c.into = nil
					if set.keep[j] && work[w] != nil {
						work[w](&set.out[j])
					}
				}
			}()
		}
	}
	if n > 0 {
		compute(&sets[0], 0)
	}
	for k, start := 0, 0; start < n; k, start = k+1, start+size {
		set := &sets[k%2]
		set.wg.Wait()
		if start+size < n {
			compute(&sets[(k+1)%2], start+size)
		}
		for j := range min(size, n-start) {
			if set.keep[j] {
				if err := f(at(start+j), &set.out[j]); err != nil {
					sets[(k+1)%2].wg.Wait()
					return err
				}
			}
			set.out[j] = NodeChange{}
		}
	}
	return nil
}

// eachNode calls f with every node change in name order: those of
// Compare's plan, or those New's plan computes as it goes.
func (p *Plan) eachNode(f func(i int, ch *NodeChange) error) error {
	return p.eachNodeMode(eachMode{}, f)
}

// eachNodeMode is eachNode with the changes New's plan computes made as
// mode says (Compare's are as they are).
func (p *Plan) eachNodeMode(mode eachMode, f func(i int, ch *NodeChange) error) error {
	if p.src == nil {
		for i := range p.Nodes {
			if err := f(i, &p.Nodes[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var c Counts
	err := p.src.each(nil, mode, func(i int, ch *NodeChange) error {
		c.add(ch.Action)
		return f(i, ch)
	})
	if err == nil {
		p.nodeCounts = &c
	}
	return err
}

// nodeSummary counts the node changes, computing them once if no
// rendering has yet.
func (p *Plan) nodeSummary() Counts {
	if p.src == nil {
		var c Counts
		for _, n := range p.Nodes {
			c.add(n.Action)
		}
		return c
	}
	if p.nodeCounts == nil {
		_ = p.eachNodeMode(eachMode{packed: true}, func(int, *NodeChange) error { return nil })
	}
	return *p.nodeCounts
}
