// Package plan compares two meshes and says what would change: for every
// node, the WireGuard peers, routes, rules, leadership and WireGuard IP
// its agent would change; for every location (segment), its members,
// leader and WireGuard IP, and whether it splits or merges; for every
// Peer, its spec and the configuration its owner must install. Each
// change carries an Action and a human reason. Warnings are the after
// mesh's problems plus the few only a whole-mesh view can see.
//
// Renderings: WriteText, a terraform-like diff for people, and WriteJSON,
// a versioned format for programs (documented in docs/plan-json.md).
//
// It is pure: it reads two topology.Mesh values and writes only to the
// io.Writer it is given. It does not read manifests or clusters, and does
// not apply anything; package change turns edited manifests into the
// objects the after mesh is built from.
package plan
