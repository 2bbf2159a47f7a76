#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generates the hostile archive corpus for import-tar at test time.

usage: make-hostile.py OUTDIR CANARY

CANARY is an absolute directory outside the image root that the archives aim at (absolute
symlinks, absolute hardlinks). Writes OUTDIR/NAME.tar[.gz|.xz] and OUTDIR/manifest.tsv with one line
per case: NAME, FILE, extra cowpen options (space separated or "-"), and an extended regex the
one-line error must match (it names the entry or the cause).

Cases that a correct importer would otherwise accept (a duplicate replacing a symlink, …) end
with a poison entry "../poison" so that the import fails; the test then also proves that nothing
was written through the symlink before the failure."""

import gzip
import io
import lzma
import os
import sys
import tarfile

out, canary = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
manifest = []


def ti(name, type=tarfile.REGTYPE, data=b"", linkname="", mode=0o644, pax=None):
    t = tarfile.TarInfo(name)
    t.type = type
    t.mode = mode
    t.mtime = 1700000000
    t.linkname = linkname
    if type == tarfile.REGTYPE:
        t.size = len(data)
    if pax:
        t.pax_headers = pax
    return t, data


def f(name, data=b"x"):
    return ti(name, data=data)


def d(name):
    return ti(name, tarfile.DIRTYPE, mode=0o755)


def sym(name, target):
    return ti(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hard(name, target):
    return ti(name, tarfile.LNKTYPE, linkname=target)


POISON = f("../poison")


def build(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for t, data in entries:
            tar.addfile(t, io.BytesIO(data) if t.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def case(name, entries_or_bytes, regex, opts="-", suffix=".tar", fmt=tarfile.PAX_FORMAT):
    data = entries_or_bytes if isinstance(entries_or_bytes, bytes) else build(entries_or_bytes, fmt)
    path = os.path.join(out, name + suffix)
    with open(path, "wb") as fh:
        fh.write(data)
    manifest.append((name, path, opts, regex))


ENT = r'entry "%s": '

case("absolute-path", [d("etc"), f(canary + "/victim")], ENT % (canary + "/victim") + "absolute path")
case("dotdot-escape", [f("../../escape")], ENT % r"\.\./\.\./escape" + r'path contains "\.\."')
case("dotdot-middle", [d("a"), f("a/../../escape")], ENT % r"a/\.\./\.\./escape" + r'path contains "\.\."')
case("symlink-then-write-through", [sym("link", "../../../" + canary.lstrip("/")), f("link/victim")],
     ENT % "link/victim" + "path leads through a symlink")
case("symlink-absolute-then-write", [sym("link", canary), f("link/victim")],
     ENT % "link/victim" + "path leads through a symlink")
case("symlink-to-root-then-write", [sym("root", "/"), f("root" + canary + "/victim")],
     ENT % ("root" + canary + "/victim") + "path leads through a symlink")
case("symlink-chain-then-write", [sym("a", "b"), sym("b", canary), f("a/victim")],
     ENT % "a/victim" + "path leads through a symlink")
case("hardlink-etc-passwd", [hard("pw", "/etc/passwd")], ENT % "pw" + "hardlink target is an absolute path")
case("hardlink-dotdot", [hard("pw", "../../" + canary.lstrip("/") + "/file")],
     ENT % "pw" + r'hardlink target contains "\.\."')
case("hardlink-to-directory", [d("dir"), hard("h", "dir")], ENT % "h" + "hardlink to a directory")
case("hardlink-to-root", [hard("h", ".")], ENT % "h" + "hardlink to a directory")
case("hardlink-through-symlink", [sym("s", canary), hard("h", "s/file")],
     ENT % "h" + "path leads through a symlink")
case("hardlink-missing-target", [hard("h", "nonexistent")], ENT % "h" + "hardlink target does not exist")
case("duplicate-replaces-symlink", [sym("f", canary + "/file"), f("f", b"overwritten"), POISON],
     ENT % r"\.\./poison" + r'path contains "\.\."')
case("hardlink-to-symlink-then-overwrite",
     [sym("s", canary + "/file"), hard("h", "s"), f("h", b"overwritten"), POISON],
     ENT % r"\.\./poison" + r'path contains "\.\."')
case("dir-replaced-by-symlink", [d("d"), sym("d", canary), f("d/victim")],
     ENT % "d/victim" + "path leads through a symlink")
case("file-replaces-nonempty-dir", [d("d"), f("d/f"), f("d")], ENT % "d" + "would replace a non-empty directory")
# An empty nested directory is replaced by a file or a symlink as GNU tar does (this once failed with
# EBADF: the parent's fd was closed before use); nothing is then written through the symlink.
case("nested-dir-replaced-by-file", [d("a"), d("a/b"), f("a/b", b"file"), f("a/c"), POISON],
     ENT % r"\.\./poison" + r'path contains "\.\."')
case("nested-dir-replaced-by-symlink", [d("a"), d("a/b"), sym("a/b", canary), f("a/b/victim")],
     ENT % "a/b/victim" + "path leads through a symlink")
case("root-as-symlink", [sym(".", canary)], ENT % r"\." + "the tree root would not be a directory")
long_path = "/".join(["p" * 200] * 20) + "/x"  # 4021 bytes: fits
case("path-over-limit", [f(long_path + "y" * 76)], r'entry "p{150}.*": path longer than the limit')
case("path-component-over-name-max", [f("n" * 256)], r'entry "n{160}…": path component longer than NAME_MAX')
case("depth-over-limit", [f("/".join(["a"] * 256) + "/f")], r'entry "a/a/a/.*": path deeper than the limit')
case("entries-over-limit", [f("f%02d" % i) for i in range(11)], ENT % "f10" + "more entries than the limit",
     opts="--max-entries=10")
case("total-size-over-limit", [f("a", b"\0" * 600000), f("b", b"\0" * 600000)],
     ENT % "b" + "total unpacked size over the limit", opts="--max-size=1M")

# A GNU sparse 1.0 member claiming 100 GiB (over the default 64 GiB limit) with one byte of data.
def sparse_member(name, realsize, regions, data):
    mapblock = ("%d\n" % len(regions) + "".join("%d\n%d\n" % r for r in regions)).encode()
    mapblock += b"\0" * (-len(mapblock) % 512)
    t = tarfile.TarInfo("GNUSparseFile.0/" + name)
    t.size = len(mapblock) + len(data)
    t.mtime = 1700000000
    t.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                     "GNU.sparse.realsize": str(realsize)}
    return t, mapblock + data


case("sparse-over-default-size", [sparse_member("big", 100 << 30, [((100 << 30) - 1, 1)], b"x")],
     ENT % "big" + "total unpacked size over the limit")
case("sparse-absurd-map", [sparse_member("bad", 1000, [(5000, 1)], b"x")], r'(entry "bad": )?.*(corrupt|beyond|sparse)')
# One region more than TAR_SPARSE_REGIONS_MAX (262144): each costs a seek and a write, and libarchive
# memory; a map of 1,000,000 regions took 4 s and 99 MB (the limit's own test is in
# test-import-hostile.sh).
SPARSE_REGIONS_MAX = 1 << 18
case("sparse-map-over-limit",
     [sparse_member("many", 2 * (SPARSE_REGIONS_MAX + 1), [(2 * i, 1) for i in range(SPARSE_REGIONS_MAX + 1)],
                    b"x" * (SPARSE_REGIONS_MAX + 1))],
     ENT % "many" + r"sparse map with more regions than the limit \(262144\)")
case("device-dotdot", [ti("../x", tarfile.CHRTYPE, mode=0o600)], ENT % r"\.\./x" + r'path contains "\.\."')
case("fifo-absolute", [ti(canary + "/fifo", tarfile.FIFOTYPE, mode=0o600)],
     ENT % (canary + "/fifo") + "absolute path")
case("control-characters", [f("evil\nname")], ENT % r"evil\\x0aname" + "control character in path")
case("pax-path-dotdot", [ti("innocent", data=b"x", pax={"path": "../../paxescape"})],
     ENT % r"\.\./\.\./paxescape" + r'path contains "\.\."')
case("pax-linkpath-escape", [ti("innocent", tarfile.LNKTYPE, linkname="harmless", pax={"linkpath": "../../" + canary.lstrip("/") + "/file"})],
     ENT % "innocent" + r'hardlink target contains "\.\."')
case("gnu-longname-dotdot", [f("l" * 120 + "/../../../gnuescape")],
     r'entry "l{120}/\.\./\.\./\.\./gnuescape": path contains "\.\."', fmt=tarfile.GNU_FORMAT)

good = build([d("etc"), f("etc/os-release", b"ID=x\n" * 2000), d("usr"), f("usr/big", os.urandom(200000))])
case("truncated-archive", good[: 512 * 3 + 4000 + 100000], r'(entry "usr/big": )?(corrupt|unexpected end|Truncated)')
case("garbage-after-gzip-magic", b"\x1f\x8b\x08\x00" + os.urandom(4000), r"corrupt compressed stream",
     suffix=".tar.gz")
case("truncated-gzip", gzip.compress(good)[:3000], r"(unexpected end|corrupt)", suffix=".tar.gz")
case("truncated-xz", lzma.compress(good)[:3000], r"(unexpected end|corrupt)", suffix=".tar.xz")
case("not-a-tar", b"hello, this is not a tar archive\n" * 40, r"(not a tar archive|corrupt)")
# Zero blocks end a tar archive: an ISO 9660 image (32 KiB of zeros before its volume descriptor)
# read as an empty archive and imported as an empty image with exit status 0. So did an empty tar.
case("iso9660-image", b"\0" * 32768 + b"\x01CD001\x01" + b"\0" * (32768 - 7), r"not a tar archive \(no entries\)$",
     suffix=".iso")
case("empty-archive", b"\0" * 10240, r"not a tar archive \(no entries\)$")
case("zeros-gzip", gzip.compress(b"\0" * 65536), r"not a tar archive \(no entries\)$", suffix=".tar.gz")

with open(os.path.join(out, "manifest.tsv"), "w") as fh:
    for name, path, opts, regex in manifest:
        fh.write("%s\t%s\t%s\t%s\n" % (name, path, opts, regex))
print(len(manifest))
