// Package wireguard is the WireGuard configuration model shared by the
// engine, the renderers and the agent: an interface, its peers, keys and
// endpoints, and their text renderings (wg setconf INI and wg-quick).
//
// It does not talk to devices, resolve DNS names or read files: those are
// the agent's and the commands' jobs.
package wireguard
