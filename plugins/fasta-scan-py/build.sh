#!/bin/sh
# Builds the fasta-scan plugin: sh build.sh [OUT.wasm]   (default: fasta-scan.wasm here)
#
# Needs only python3 with venv and pip: componentize-py (pinned) is installed once into a venv
# under ${KMVIZ_TOOLS:-$HOME/.cache/kmviz-tools}/python and reused by later builds.
set -eu

COMPONENTIZE_PY_VERSION=0.25.1
here=$(cd "$(dirname "$0")" && pwd)
wit=$here/../../plugins-wit
out=${1:-$here/fasta-scan.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac
venv=${KMVIZ_TOOLS:-$HOME/.cache/kmviz-tools}/python
tool=$venv/bin/componentize-py

# Install (or re-pin) only when the venv lacks the wanted version.
if ! "$tool" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; then
    echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
    # A venv whose python is gone (python3 upgraded) cannot be repaired: start afresh.
    "$venv/bin/python" -c "" 2>/dev/null || rm -rf "$venv"
    python3 -m venv "$venv" ||
        { echo "python3 -m venv failed: install python3-venv" >&2; exit 1; }
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "componentize-py==$COMPONENTIZE_PY_VERSION"
fi

# Typed stubs of the WIT for editors and type checkers (componentize makes its own bindings
# while building): regenerated only when the WIT changed.
if [ ! -f "$here/bindings/wit_world/__init__.py" ] ||
    [ "$wit/kmviz.wit" -nt "$here/bindings/wit_world/__init__.py" ]; then
    rm -rf "$here/bindings"
    "$tool" -q -d "$wit" -w provider-plugin bindings "$here/bindings"
fi

# Only the app's folder goes on the Python path: componentize-py bundles what it imports.
mkdir -p "$(dirname "$out")"
"$tool" -q -d "$wit" -w provider-plugin componentize -p "$here/src" fasta_scan -o "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
