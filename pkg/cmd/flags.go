package cmd

import (
	"fmt"
	"strconv"
)

// hexUint32 is a uint32 flag shown in hexadecimal, as firewall marks
// are written (iptables, ip rule): its default reads 0x1000, not 4096.
// It takes any base strconv reads with base 0 (0x1000, 4096, 0o10000).
type hexUint32 uint32

func newHexUint32(p *uint32, def uint32) *hexUint32 {
	*p = def
	return (*hexUint32)(p)
}

func (h *hexUint32) String() string { return fmt.Sprintf("%#x", uint32(*h)) }

func (h *hexUint32) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return err
	}
	*h = hexUint32(v)
	return nil
}

func (h *hexUint32) Type() string { return "uint32" }
