#!/bin/sh
# Installs nac into a temporary prefix and builds tests/package/client.c (the codec) and
# tests/package/toolkit_client.c (audio, vq, metrics, plot, degrade, listen) against it through
# pkg-config, once with the shared library and once with the static one; runs them. Checks that
# every public header is installed and compiles on its own (C99 and C++), that the examples of
# docs/library.md compile, that the client of docs/packets.md builds and prints what it says, and that libnac.so exports every function the headers declare and
# nothing outside nac_.
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
# the toolkit headers, both ways
$cc -o "$tmp/toolkit_shared" tests/package/toolkit_client.c $(pkg-config --cflags --libs nac) -lm -Wl,-rpath,"$prefix/lib"
"$tmp/toolkit_shared" "$tmp" | grep -q '^ok'
$cc -o "$tmp/toolkit_static" tests/package/toolkit_client.c $(pkg-config --cflags nac) \
    $(pkg-config --static --libs nac | sed 's/-lnac\b/-l:libnac.a/') -lm
"$tmp/toolkit_static" "$tmp" | grep -q '^ok'
# every public header is installed and stands alone
for h in include/nac/*.h; do
    h=$(basename "$h")
    if [ ! -f "$prefix/include/nac/$h" ]; then echo "nac/$h is not installed" >&2; exit 1; fi
    echo "#include <nac/$h>" | $cc -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags nac) -x c -
    if command -v c++ >/dev/null; then
        echo "#include <nac/$h>" | c++ -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags nac) -x c++ -
    fi
done
# the examples of docs/library.md compile against the installed headers
rm -f "$tmp"/doc_example_*.c
awk -v dir="$tmp" '/^```c$/ { n++; f = sprintf("%s/doc_example_%d.c", dir, n); next }
                   /^```/ { f = ""; next }
                   f { print > f }' docs/library.md
for f in "$tmp"/doc_example_*.c; do
    $cc -std=c11 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags nac) "$f"
done
# the packet client of docs/packets.md builds (shared) and runs: it prints what the doc says
awk '/^```c$/ { on = 1; next } /^```/ { on = 0 } on' docs/packets.md > "$tmp/packets_client.c"
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/packets_client" "$tmp/packets_client.c" $(pkg-config --cflags --libs nac) \
    -lm -Wl,-rpath,"$prefix/lib"
expected=$(sed -n 's/^It prints `\(.*\)`.*/\1/p' docs/packets.md)
if [ "$("$tmp/packets_client")" != "$expected" ]; then
    echo "docs/packets.md: the client does not print '$expected'" >&2; exit 1
fi
# every function the installed headers declare is exported
cat "$prefix"/include/nac/*.h | $cc -E -P $(pkg-config --cflags nac) -x c - |
    grep -o '\bnac_[a-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u > "$tmp/declared.txt"
nm -D --defined-only "$prefix/lib/libnac.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported.txt"
if comm -23 "$tmp/declared.txt" "$tmp/exported.txt" | grep .; then
    echo "declared in include/nac but not exported by libnac.so (above)" >&2; exit 1
fi
# only nac_ symbols leave the shared library
if nm -D --defined-only "$prefix/lib/libnac.so" | awk '$2 != "A" {print $3}' | grep -v '^nac_' | grep -q .; then
    echo "libnac.so exports symbols outside nac_" >&2; exit 1
fi
echo ok
