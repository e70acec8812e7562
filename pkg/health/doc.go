// Package health turns WireGuard peer samples into tunnel states (up,
// down, never) with hysteresis, and into the compact status an agent
// publishes on its Node (the kilo.squat.ai/status annotation). It also
// holds the hash of a WireGuard configuration that agents publish as
// "applied" and that kgctl status compares with the engine's.
//
// It is pure: time comes in with each sample; it reads no device and
// writes nothing.
package health
