#!/bin/sh
# Fetch Sweet Home 3D's furniture from Debian into a folder outside git (default
# data/sweethome3d/, which .gitignore leaves out): the five libraries of the package
# sweethome3d-furniture (*.sh3f, 815 models, CC-BY 3.0 and CC0), the application's jar with
# its default catalogue (sweethome3d.jar, 100 models) and both packages' copyright files.
# Nothing is installed: `apt-get download` fetches the two .deb files and `dpkg-deb -x`
# unpacks them (about 137 MB to download, 140 MB on disk). Running it again replaces the folder.
#
#   sh scripts/fetch_furniture.sh [FOLDER]        (make fetch-furniture)
set -eu

dest=${1:-data/sweethome3d}
packages="sweethome3d-furniture sweethome3d"

for tool in apt-get dpkg-deb; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "fetch_furniture: $tool not found; this script needs a Debian or Ubuntu system (apt-get and dpkg-deb)" >&2
        exit 1
    fi
done

work=$(mktemp -d)
chmod 755 "$work"  # apt-get download runs as the _apt user when it can, who must reach the folder
trap 'rm -rf "$work"' EXIT INT TERM

echo "downloading $packages (about 137 MB) ..."
if ! (cd "$work" && apt-get download $packages); then
    echo "fetch_furniture: apt-get download failed; if it cannot locate the packages, run 'apt-get update' (as root) first" >&2
    exit 1
fi

mkdir "$work/root" "$work/out"
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
    name=$(dpkg-deb -f "$deb" Package)
    echo "$name $(dpkg-deb -f "$deb" Version)" >>"$work/out/PACKAGES"
    cp "$work/root/usr/share/doc/$name/copyright" "$work/out/copyright-$name"
done
cp "$work"/root/usr/share/sweethome3d/furniture/*.sh3f "$work/root/usr/share/sweethome3d/sweethome3d.jar" "$work/out/"

mkdir -p "$(dirname "$dest")"
rm -rf "$dest.old"
if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
mv "$work/out" "$dest"
rm -rf "$dest.old"
echo "wrote $dest:"
ls -l "$dest"
echo "next: shapespace data info $dest"
