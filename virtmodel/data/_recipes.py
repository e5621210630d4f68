"""Recipes that rebuild each derived file from the originals in its public repository.

Each recipe takes ``get(source_path, sha256=None) -> bytes`` (download one
original, checking its sha256 when known) and ``get_many(paths) -> list[bytes]``
and returns ``{path under the data directory: uncompressed bytes}``.  The
caller checks the bytes against the registry's ``content_sha256``, so a recipe
that drifts from the reference copy by one byte is refused, never cached.

Every recipe was checked against the originals at the registered commits:
its output equals the reference copy's decompressed bytes.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from collections.abc import Callable

__all__ = ["RECIPES", "SOURCE_SHA256", "read_rda"]

# sha256 of the originals the recipes read (the files at the registered commits)
SOURCE_SHA256 = {
    "huaweicloud/trace_generation_rnn": {
        "resources/traces/v1.test.txt": "2f0fcc2d12b76c54e58d222caa90547dd76033f3a97b032694e403ee81d4f815",
        "resources/traces/v1.test.c2591400.txt": "0f277857eb4240e9137429fd0bec9ed5355061d157492cb8061fb3e189ead963",
        "resources/maps/v1.interval_map.txt": "404436c751ac5a345092b8b5c9cb91ca99ae013c675fd932cfb7fc633eb9579d",
        "resources/maps/flav_map.txt": "2b7ae5498471022e4bb0d62b148cbde01d5704a5fef482096ad780e17cbb0902",
    },
    "fimeier/ScionTimeExperiments": {
        "7/AS1_final.txt": "a2e90aa6bbd90684ddce7a812d4e6b56f3deb84d3b69764abb16436b79645e5c",
        "7/AS2_final.txt": "a3ed004b1e05fdf30a2c4e0a00b59a5e50739100417ef76d79d92e6cfb289847",
        "7/AS3_final.txt": "c59226c320ecc9cc1ec7c86f493e7053a77fab4d6d035f87e4b0b773e6f01758",
        "7/AS4_final.txt": "f517a74e12e2d5a65e98de1b95d31ad8324e6a8419a6d109ad8397839e8ca3f4",
    },
    "cran/UsingR": {"data/babyboom.rda": "9a54654920c1f746fbdfb5b87ee67fd445982290a68d7365c33ea52f49986073"},
    "HiPro-IT/CPU-and-Memory-resource-usage-from-Google-Cluster-Data": {
        "GCD_VMs.tar.gz": "3df5170967bd936b7d29d0d7e3b2459911dfde93e9dd1ac694f0ac7355090f73"},
}

PLANETLAB_ROOT = "modules/cloudsim-examples/src/main/resources/workload/planetlab"

Get = Callable[..., bytes]
RECIPES: dict[str, Callable] = {}


def _recipe(name: str):
    def register(fn):
        RECIPES[name] = fn
        return fn
    return register


def _src(repo: str, path: str) -> str:
    return SOURCE_SHA256[repo][path]


# --------------------------------------------------------------------------- R .rda (XDR) reader


class _RReader:
    """The subset of R's serialization format (version 2, XDR) that a data frame of atomic vectors uses.

    Reference: R Internals, section 1.8 "Serialization formats"; src/main/serialize.c.
    """

    NIL, SYM, LIST, LGL, INT, REAL, STR, VEC, CHAR, REF = 254, 1, 2, 10, 13, 14, 16, 19, 9, 255

    def __init__(self, raw: bytes):
        if not raw.startswith(b"RDX2\nX\n"):
            raise ValueError("not an R version-2 XDR .rda file")
        self.buf, self.pos, self.refs = raw, 7, []
        self._int(), self._int(), self._int()  # format version, R version, min R version

    def _int(self) -> int:
        (v,) = struct.unpack_from(">i", self.buf, self.pos)
        self.pos += 4
        return v

    def _ints(self, n):
        out = struct.unpack_from(f">{n}i", self.buf, self.pos)
        self.pos += 4 * n
        return list(out)

    def item(self):
        flags = self._int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == self.NIL:
            return None
        if kind == self.REF:
            index = flags >> 8 or self._int()
            return self.refs[index - 1]
        if kind == self.SYM:
            name = self.item()
            self.refs.append(name)
            return name
        if kind == self.CHAR:
            n = self._int()
            if n == -1:
                return None
            s = self.buf[self.pos:self.pos + n].decode("utf-8")
            self.pos += n
            return s
        if kind == self.LIST:  # pairlist: attributes, tag, car, cdr
            attrs = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            del attrs
            return [(tag, car), *(cdr or [])]
        if kind in (self.LGL, self.INT, self.REAL, self.STR, self.VEC):
            n = self._int()
            if kind in (self.LGL, self.INT):
                value = self._ints(n)
            elif kind == self.REAL:
                value = list(struct.unpack_from(f">{n}d", self.buf, self.pos))
                self.pos += 8 * n
            else:
                value = [self.item() for _ in range(n)]
            attrs = dict(self.item()) if has_attr else {}
            return {"kind": kind, "value": value, "attrs": attrs}
        raise ValueError(f"R object type {kind} is not supported by this reader")


def read_rda(raw: bytes) -> dict[str, dict]:
    """Objects of a gzip-compressed ``.rda`` file: ``{name: {"columns": {...}, "names": [...]}}``.

    Only data frames of numeric, integer, logical, character and factor
    columns are supported (factors become their level strings).

    >>> import gzip, struct
    >>> def i(*v): return struct.pack(f">{len(v)}i", *v)
    >>> def ch(s): return i(0x40009, len(s)) + s.encode()
    >>> body = (b"RDX2\\nX\\n" + i(2, 0, 0) + i(0x402) + i(1) + ch("x") + i(14, 2)
    ...         + struct.pack(">2d", 1.5, 2.0) + i(254))
    >>> read_rda(gzip.compress(body))["x"]["value"]
    [1.5, 2.0]
    """
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    reader = _RReader(raw)
    return {name: obj for name, obj in reader.item()}


def _column(obj) -> list:
    levels = obj["attrs"].get("levels")
    if levels is not None:
        return [None if v is None or v < 0 else levels["value"][v - 1] for v in obj["value"]]
    return obj["value"]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


@_recipe("babyboom")
def _babyboom(dataset, get: Get, get_many) -> dict[str, bytes]:
    frame = read_rda(get("data/babyboom.rda", _src("cran/UsingR", "data/babyboom.rda")))["babyboom"]
    names = frame["attrs"]["names"]["value"]
    columns = [_column(c) for c in frame["value"]]
    lines = [",".join(names)] + [",".join(_fmt(c[i]) for c in columns) for i in range(len(columns[0]))]
    return {dataset.files[0].path: ("\n".join(lines) + "\n").encode()}


# --------------------------------------------------------------------------- VM workloads


@_recipe("planetlab")
def _planetlab(dataset, get: Get, get_many) -> dict[str, bytes]:
    from importlib import resources

    listing = resources.files(__package__).joinpath("planetlab_files.txt.gz").read_bytes()
    day_vm = [ln.split("/", 1) for ln in gzip.decompress(listing).decode().splitlines() if ln]
    blobs = get_many([f"{PLANETLAB_ROOT}/{day}/{vm}" for day, vm in day_vm])
    out = io.StringIO()
    out.write("day,vm," + ",".join(f"u{i:03d}" for i in range(288)) + "\n")
    for (day, vm), blob in zip(day_vm, blobs, strict=True):
        values = blob.decode().split()
        if len(values) != 288:
            raise ValueError(f"planetlab/{day}/{vm}: {len(values)} samples, expected 288")
        out.write(f"{day},{vm}," + ",".join(str(int(v)) for v in values) + "\n")
    return {dataset.files[0].path: out.getvalue().encode()}


@_recipe("google_gcd")
def _gcd(dataset, get: Get, get_many) -> dict[str, bytes]:
    repo = dataset.repository
    blob = get("GCD_VMs.tar.gz", _src(repo, "GCD_VMs.tar.gz"))
    out = io.StringIO()
    out.write("vm,t_index_5min,cpu_util_pct,mem_util_pct\n")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar:  # archive order
            if not member.isfile():
                continue
            vm = member.name.rsplit("/", 1)[-1]
            lines = tar.extractfile(member).read().decode().split("\n")
            rows = [ln.split() for ln in lines if ln.strip()]
            for t, (cpu, mem) in enumerate(rows):
                out.write(f"{vm},{t},{float(cpu):g},{float(mem):g}\n")  # 6 significant digits (%g)
    return {dataset.file("gcd_vms_long.csv.gz").path: out.getvalue().encode()}


@_recipe("azure_v1")
def _azure(dataset, get: Get, get_many) -> dict[str, bytes]:
    repo = dataset.repository
    text = {p: get(p, _src(repo, p)).decode() for p in SOURCE_SHA256[repo]}
    flavours = {}
    for ln in text["resources/maps/flav_map.txt"].splitlines():
        size, letter = ln.split()
        vcpus, mem = size.split(",")
        flavours[letter] = (int(vcpus), float(mem))
    bounds: dict[int, list[int]] = {}
    for ln in text["resources/maps/v1.interval_map.txt"].splitlines():
        seconds, b = (int(x) for x in ln.split())
        lo_hi = bounds.setdefault(b, [seconds, seconds])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], seconds), max(lo_hi[1], seconds)
    out = io.StringIO()
    out.write("bin_end_s,tenant_batch,flavor,vcpus,mem_gb,censored_flag,dur_bin,dur_bin_lo_s,dur_bin_hi_s\n")
    flav_lines = text["resources/traces/v1.test.txt"].splitlines()
    dur_lines = text["resources/traces/v1.test.c2591400.txt"].splitlines()
    if len(flav_lines) != len(dur_lines):
        raise ValueError("flavour and duration traces differ in length")
    for fl, dl in zip(flav_lines, dur_lines, strict=True):
        t, flav_tokens = fl.split(" ", 1)
        t2, dur_tokens = dl.split(" ", 1)
        if t != t2:
            raise ValueError(f"time bins differ: {t} and {t2}")
        batch = 0
        for f_tok, d_tok in zip(flav_tokens.split(","), dur_tokens.split(","), strict=True):
            if f_tok == "|":
                batch += 1
                continue
            if not f_tok:
                continue
            vcpus, mem = flavours[f_tok]
            b = int(d_tok[1:])
            lo, hi = bounds[b]
            out.write(f"{t},{batch},{f_tok},{vcpus},{mem!r},{d_tok[0]},{b},{lo},{hi}\n")
    return {dataset.file("v1.test_flat_derived.csv.gz").path: out.getvalue().encode()}


# --------------------------------------------------------------------------- clock


@_recipe("gnss_chrony_chain")
def _gnss(dataset, get: Get, get_many) -> dict[str, bytes]:
    repo = dataset.repository
    out = io.StringIO()
    out.write("host,ref_time_unix,sys_time_unix,offset_s,ltcy_us,exec_us\n")
    for host in ("AS1", "AS2", "AS3", "AS4"):
        path = f"7/{host}_final.txt"
        for ln in get(path, _src(repo, path)).decode().splitlines():
            if not ln.startswith("GNS181PEX:"):
                continue
            # GNS181PEX: DATE TIME REF SYS OFFSET, ltcy: X us, exec: Y us, limit: Z us, leap: 00 [*]
            f = ln.replace(",", " ").split()
            if f[6] != "ltcy:" or f[9] != "exec:":
                raise ValueError(f"{path}: unexpected line {ln!r}")
            out.write(f"{host},{f[3]},{f[4]},{f[5]},{float(f[7])!r},{float(f[10])!r}\n")
    return {dataset.file("exp7_offsets_derived.csv.gz").path: out.getvalue().encode()}
