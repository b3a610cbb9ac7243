"""fasta-scan: a kmviz provider plugin in Python (built with componentize-py).

Every FASTA file of the folder `params.dir` is one sample, named by its file stem. A query's
canonical k-mers (a k-mer and its reverse complement count as one) are looked up in each file,
which is read at every query: the plugin is stateless, so there is no index to keep. Meant for
small collections (up to some tens of megabytes).
"""

import gzip
import json
import os
import zlib

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.provider import Description, Hit, Query, SubIndex
from wit_world.imports.types import (
    Bounds,
    OptionKind_Range,
    OptionSpec,
    OptionValue_Number,
)

PROVIDER = "fasta-scan"
INDEX = "refs"
EXTENSIONS = (".fa", ".fasta", ".fna")
DEFAULT_K = 21
MAX_K = 64
MIN_RATIO = "min-ratio"
DEFAULT_MIN_RATIO = 0.1
# Letters scanned at once: memory stays bounded whatever the size of a file.
CHUNK = 1 << 20
MIN_SEED = 14
SEED_BUDGET = 100_000
ACGT = frozenset(b"ACGT")
COMPLEMENT = bytes.maketrans(b"ACGT", b"TGCA")


def revcomp(kmer: bytes) -> bytes:
    return kmer.translate(COMPLEMENT)[::-1]


def canonical(kmer: bytes) -> bytes:
    return min(kmer, revcomp(kmer))


def sample_name(file_name: str):
    """The sample a file stands for (its stem), or None when it is not a FASTA file."""
    stem = file_name[:-3] if file_name.endswith(".gz") else file_name
    for ext in EXTENSIONS:
        if stem.endswith(ext) and len(stem) > len(ext) and not file_name.startswith("."):
            return stem[: -len(ext)]
    return None


class Config:
    """The database's parameters, checked, and the samples found in its folder."""

    def __init__(self, params: str):
        try:
            values = json.loads(params)
        except ValueError as e:
            raise Err(f"params are not JSON: {e}")
        if not isinstance(values, dict):
            raise Err("params: expected a table such as { dir = \"/data/refs\", k = 21 }")
        folder = values.get("dir")
        if not isinstance(folder, str) or not folder:
            raise Err(
                "params: give `dir`, the folder holding the FASTA files "
                "(an absolute path, granted to the plugin with `dirs`)"
            )
        if not folder.startswith("/"):
            raise Err(f"params: dir = {folder!r} must be an absolute path")
        k = values.get("k", DEFAULT_K)
        # bool is an int in Python: refuse `k = true` explicitly.
        whole = isinstance(k, int) or (isinstance(k, float) and k.is_integer())
        if isinstance(k, bool) or not whole:
            raise Err(f"params: k = {json.dumps(k)} is not an integer")
        if not 1 <= k <= MAX_K:
            raise Err(f"params: k = {int(k)} is out of range: give 1 to {MAX_K}")
        self.dir = folder
        self.k = int(k)
        try:
            names = sorted(os.listdir(folder))
        except OSError as e:
            raise Err(
                f"params: cannot read dir {folder}: {e.strerror or e} "
                "(is it granted to the plugin with `dirs`?)"
            )
        self.samples = {}
        for name in names:
            sample = sample_name(name)
            path = os.path.join(folder, name)
            if sample is None or not os.path.isfile(path):
                continue
            if sample in self.samples:
                other = os.path.basename(self.samples[sample])
                raise Err(f"dir {folder}: {other} and {name} are both sample '{sample}'")
            self.samples[sample] = path
        if not self.samples:
            raise Err(
                f"dir {folder} holds no FASTA file "
                f"({', '.join(EXTENSIONS)}, optionally gzipped as .gz)"
            )


def query_kmers(query: Query, k: int):
    """The canonical k-mer at each position of the query, None where it has a letter other
    than A, C, G, T."""
    seq = b"".join(query.sequence.encode("utf-8", "replace").split()).upper()
    if len(seq) < k:
        raise Err(f"query '{query.id}' has {len(seq)} letters, fewer than k = {k}")
    kmers = []
    last_bad = -1
    for i, letter in enumerate(seq):
        if letter not in ACGT:
            last_bad = i
        if i >= k - 1:
            start = i - k + 1
            kmers.append(canonical(seq[start : i + 1]) if last_bad < start else None)
    if all(kmer is None for kmer in kmers):
        raise Err(f"query '{query.id}' has no {k}-mer made only of A, C, G and T")
    return kmers


class Matcher:
    """Finds which of a query's k-mers occur in FASTA files.

    Looking up every k-mer of a file is slow in Python. Instead, only every `step`-th position
    of a file is looked up, with a seed of length m = k - step + 1: an occurrence of a k-mer at
    any position covers one sampled position, where its seed starting at offset o < step is
    found. A seed found names candidate k-mers, each then confirmed with a plain search (`in`,
    done in C) of the sequence around it.
    """

    def __init__(self, kmers: list, k: int):
        distinct = {kmer for kmer in kmers if kmer is not None}
        self.k = k
        self.goal = len(distinct)
        # Both orientations: files are read on their forward strand only.
        wanted = distinct | {revcomp(kmer) for kmer in distinct}
        # Seeds of at least MIN_SEED letters keep random matches rare; the seed table stays
        # under SEED_BUDGET entries (memory) whatever the query's length.
        self.step = max(1, min(k - MIN_SEED + 1, SEED_BUDGET // len(wanted)))
        self.seed = k - self.step + 1
        self.seeds = {}
        for kmer in wanted:
            for offset in range(self.step):
                self.seeds.setdefault(kmer[offset : offset + self.seed], set()).add(kmer)
        self.seed_set = frozenset(self.seeds)

    def scan(self, path: str) -> set:
        """The canonical query k-mers found in the FASTA file at `path`."""
        found = set()

        def look(seq: bytes) -> bool:
            """Adds the k-mers found in `seq`; says whether all of the query's are found."""
            n = len(seq) - self.seed + 1
            if n <= 0:
                return False
            starts = range(0, n, self.step)
            stops = range(self.seed, n + self.seed, self.step)
            # set.intersection walks the slices in C: no Python code runs per position.
            sampled = map(seq.__getitem__, map(slice, starts, stops))
            seen = self.seed_set.intersection(sampled)
            if self.step == 1:
                found.update(seen)  # seeds are the k-mers themselves
            else:
                for seed in seen:
                    for kmer in self.seeds[seed]:
                        if kmer not in found and kmer in seq:
                            found.add(kmer)
            return len(found) >= self.goal and len({canonical(x) for x in found}) == self.goal

        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            lines, size, tail = [], 0, b""
            for line in f:
                if line.startswith(b">"):
                    # k-mers do not span two records.
                    look(tail + b"".join(lines).upper())
                    lines, size, tail = [], 0, b""
                    continue
                line = line.strip()
                lines.append(line)
                size += len(line)
                if size >= CHUNK:
                    seq = tail + b"".join(lines).upper()
                    if look(seq):
                        break
                    # Keep the last k - 1 letters: the k-mers across the chunk's end.
                    lines, size, tail = [], 0, seq[max(0, len(seq) - self.k + 1) :]
            else:
                look(tail + b"".join(lines).upper())
        return {canonical(kmer) for kmer in found}


def option(query: Query, name: str, default: float) -> float:
    for setting in query.options:
        if setting.name == name and isinstance(setting.value, OptionValue_Number):
            return setting.value.value
    return default


class Provider(exports.Provider):
    def describe(self, params: str) -> Description:
        config = Config(params)
        return Description(
            name=PROVIDER,
            indexes=[
                SubIndex(
                    name=INDEX,
                    kmer_size=config.k,
                    samples=list(config.samples),
                    abundance=False,
                )
            ],
            options=[
                OptionSpec(
                    name=MIN_RATIO,
                    help="leave out samples holding a smaller fraction of the query's k-mers",
                    kind=OptionKind_Range(Bounds(min=0.0, max=1.0, step=0.05)),
                    default=OptionValue_Number(DEFAULT_MIN_RATIO),
                    required=False,
                )
            ],
        )

    def search(self, params: str, query: Query) -> list[Hit]:
        config = Config(params)
        k = config.k
        kmers = query_kmers(query, k)
        matcher = Matcher(kmers, k)
        min_ratio = option(query, MIN_RATIO, DEFAULT_MIN_RATIO)
        hits = []
        for sample, path in config.samples.items():
            try:
                found = matcher.scan(path)
            except (OSError, EOFError, zlib.error) as e:
                raise Err(f"sample '{sample}': cannot read {path}: {e}")
            positions = [int(kmer is not None and kmer in found) for kmer in kmers]
            # Over all k-mers, those with other letters counting as absent: the ratio kmviz
            # shows (CovXK) is computed so from `positions`.
            ratio = sum(positions) / len(positions)
            if ratio >= min_ratio:
                hits.append(
                    Hit(
                        index=INDEX,
                        sample=sample,
                        ratio=ratio,
                        abundance=None,
                        positions=positions,
                        kmer_size=k,
                    )
                )
        return hits
