#!/usr/bin/env bash
# fetch-debs.sh ARCH ROOTFS: the host tools the agent execs (iptables-save and
# iptables-restore, nft backend, IPv4 and IPv6) and the shared libraries they
# load, from Debian's packages for ARCH, unpacked into ROOTFS. The .debs are
# cached by name and version under ${KGCTL_DEB_CACHE:-~/.cache/kgctl/debs}.
set -euo pipefail
arch=$1 rootfs=$2
cache=${KGCTL_DEB_CACHE:-$HOME/.cache/kgctl/debs}/$arch
# The closure of iptables' Depends (iptables 1.8.9, bookworm), checked by
# image_test.go, which runs the shipped iptables inside the image.
pkgs=(iptables libxtables12 libip4tc2 libip6tc2 libmnl0 libnftnl11
  libnetfilter-conntrack3 libnfnetlink0 libc6 libgcc-s1)
if ! dpkg --print-foreign-architectures | grep -qx "$arch" && [ "$arch" != "$(dpkg --print-architecture)" ]; then
  echo "fetch-debs: dpkg has no $arch architecture; run: dpkg --add-architecture $arch && apt-get update" >&2
  exit 1
fi
mkdir -p "$cache"
want=()
for p in "${pkgs[@]}"; do
  v=$(apt-cache policy "$p:$arch" | awk '/Candidate:/ {print $2}')
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    echo "fetch-debs: no candidate for $p:$arch (apt-get update?)" >&2
    exit 1
  fi
  # Debian file names write the epoch colon as %3a.
  f="$cache/${p}_${v//:/%3a}_${arch}.deb"
  [ -s "$f" ] || want+=("$p:$arch=$v")
  echo "$f"
done > "$cache/.list"
if [ ${#want[@]} -gt 0 ]; then
  (cd "$cache" && apt-get download -qq "${want[@]}" 2>/dev/null)
fi
rm -rf "$rootfs" && mkdir -p "$rootfs"
while read -r f; do dpkg-deb -x "$f" "$rootfs"; done < "$cache/.list"
# What the agent never reads: docs, manuals, locales, charset converters,
# the legacy backend and the debian alternatives' absolute links.
rm -rf "$rootfs"/usr/share "$rootfs"/usr/lib/*/gconv "$rootfs"/usr/bin "$rootfs"/sbin "$rootfs"/usr/libexec "$rootfs"/etc/ld.so.conf.d "$rootfs"/usr/lib/*/audit
find "$rootfs"/usr/sbin -mindepth 1 ! -name 'xtables-nft-multi' -delete
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -s xtables-nft-multi "$rootfs/usr/sbin/$t"
done
mkdir -p "$rootfs"/run "$rootfs"/tmp "$rootfs"/var/lib/kilo
