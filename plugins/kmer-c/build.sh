#!/bin/sh
# Builds the kmer-c provider plugin: `plugins/kmer-c/build.sh [OUT.wasm]`
# (default target/kmer-c/kmer-c.wasm). Idempotent: installs what is missing, then rebuilds.
#
#   KMVIZ_WASM_CC  a C compiler for wasm32-wasi, e.g. "zig cc" (default: Debian's clang-19 with
#                  wasi-libc, installed with apt-get when missing and run as root; else zig
#                  from PyPI)
#   KMVIZ_C_TOOLS  a built kmviz-c-tools binary (default: built from plugins/c-tools, ~2 min once)
#   KMVIZ_TOOLS    where pip-installed tools go (default ~/.cache/kmviz-tools)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/target/kmer-c
out=${1:-$build/kmer-c.wasm}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
tools=${KMVIZ_TOOLS:-$HOME/.cache/kmviz-tools}

say() { echo "kmer-c/build.sh: $*" >&2; }

# Debian's clang 19 targets wasm32-wasi (preview 1) once lld, wasi-libc and the wasm32
# builtins are there too.
have_clang() {
    command -v clang-19 >/dev/null && command -v wasm-ld-19 >/dev/null &&
        [ -f /usr/lib/wasm32-wasi/libc.a ] &&
        [ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ]
}

compiler=
if [ -n "${KMVIZ_WASM_CC:-}" ]; then
    compiler=custom
elif have_clang; then
    compiler=clang
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing clang-19, lld-19, wasi-libc (apt)"
    packages="clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32"
    # shellcheck disable=SC2086 # a list of names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages >&2; }
    have_clang && compiler=clang
fi
if [ -z "$compiler" ]; then
    # No root or not Debian: zig's `cc` brings its own wasi-libc (its first build compiles it, ~1 min).
    if [ ! -f "$tools/ziglang/__main__.py" ]; then
        say "installing zig (PyPI ziglang) into $tools"
        python3 -m pip install -q --disable-pip-version-check --target "$tools" ziglang >&2
    fi
    compiler=zig
fi
wasm_cc() {
    case $compiler in
        custom) $KMVIZ_WASM_CC "$@" ;;
        clang) clang-19 "$@" ;;
        zig) PYTHONPATH=$tools${PYTHONPATH:+:$PYTHONPATH} python3 -m ziglang cc "$@" ;;
    esac
}

if [ -n "${KMVIZ_C_TOOLS:-}" ]; then
    tool=$KMVIZ_C_TOOLS
else
    # Its own target dir: building it never waits on (or invalidates) the workspace's.
    target=${CARGO_TARGET_DIR:-$repo/target}/c-tools
    cargo build --release --locked --quiet --manifest-path "$repo/plugins/c-tools/Cargo.toml" \
        --target-dir "$target"
    tool=$target/release/kmviz-c-tools
fi

mkdir -p "$build"
gen=$build/gen
"$tool" bindings "$repo/plugins-wit" provider-plugin "$gen"
# A core module per run, so concurrent builds to different outputs do not collide.
core=$build/kmer-c.$$.core.wasm
trap 'rm -f "$core"' EXIT
# A reactor: a library of exports without main; --strip-all keeps the component-type section.
wasm_cc -target wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -I"$gen" -Wl,--strip-all \
    -o "$core" "$here/src/kmer.c" "$gen/provider_plugin.c" "$gen/provider_plugin_component_type.o"
mkdir -p "$(dirname "$out")"
"$tool" component "$core" "$out"
say "wrote $out ($(wc -c <"$out") bytes)"
