#!/bin/sh
# Installs nac into a temporary prefix and builds tests/package/client.c against it through
# pkg-config, once with the shared library and once with the static one; runs both.
# usage: tests/package/check.sh TMPDIR   (from the repository root, after make)
set -eu
tmp=$1
prefix=$tmp/prefix
rm -rf "$prefix"
make -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc=${CC:-cc}
# shared: the SONAME is what the client records
$cc -o "$tmp/client_shared" tests/package/client.c $(pkg-config --cflags --libs nac) -lm -Wl,-rpath,"$prefix/lib"
readelf -d "$tmp/client_shared" | grep -q 'NEEDED.*libnac.so.0'
"$tmp/client_shared" | grep -q '^ok'
# static: the same flags with libnac.a in place of -lnac
$cc -o "$tmp/client_static" tests/package/client.c $(pkg-config --cflags nac) \
    $(pkg-config --static --libs nac | sed 's/-lnac\b/-l:libnac.a/') -lm
if readelf -d "$tmp/client_static" | grep -q 'NEEDED.*libnac'; then echo "static client needs libnac.so" >&2; exit 1; fi
"$tmp/client_static" | grep -q '^ok'
# only nac_ symbols leave the shared library
if nm -D --defined-only "$prefix/lib/libnac.so" | awk '$2 != "A" {print $3}' | grep -v '^nac_' | grep -q .; then
    echo "libnac.so exports symbols outside nac_" >&2; exit 1
fi
echo ok
