#!/bin/sh
# deps.sh [bench] - install the Debian 12 packages mailroom needs to build, test
# and demo; with "bench" also the peer tools the benchmarks measure (OCRmyPDF).
# Idempotent: packages already installed are skipped; apt-get runs only when needed.
# Needs root (or sudo).
set -eu
PKGS="build-essential cmake pkg-config git ca-certificates
libsane-dev libsane1 sane-utils
libtesseract-dev tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng tesseract-ocr-osd libleptonica-dev
libtiff-dev libtiff-tools libpng-dev libjpeg-dev
libpoppler-glib-dev libcairo2-dev libglib2.0-dev poppler-utils
libssl-dev openssl libcurl4-openssl-dev
libsqlite3-dev sqlite3
libyaml-dev libjson-c-dev libpcre2-dev
libxml2-dev libxml2-utils
libzip-dev zip unzip
groff ghostscript jq time
gnutls-bin softhsm2 opensc libengine-pkcs11-openssl libp11-dev avahi-daemon dbus
zbar-tools libzbar-dev libqrencode-dev
default-jdk-headless libbcpkix-java
clang llvm libclang-rt-14-dev
strace"
if [ "${1:-}" = bench ]; then
	PKGS="$PKGS ocrmypdf"
fi
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
