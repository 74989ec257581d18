#!/usr/bin/env python3
# Writes the seed corpus of fuzz_image into tests/fuzz/corpus: small valid
# and damaged image files, built from the layout in docs/IMAGES.md without
# the C code, so the corpus also cross-checks that description.
import pathlib
import struct

PAGE = 4096
KIND_INVENTORY, KIND_PAGEMAP = 1, 2
KIND_FDS, KIND_FILES, KIND_FILE_DATA = 6, 7, 8
KIND_PSTREE = 10
KIND_CGROUPS_V1 = 28
FILE_KIND_PIDFD = 11
PRESENT, ZERO, IN_PARENT = 1, 2, 3


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(v):
    out = b""
    while True:
        byte = v & 0x7F
        v >>= 7
        if not v:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def uint_field(num, v):
    return varint(num << 3) + varint(v)


def str_field(num, s):
    b = s.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


DUMP_ID = bytes(range(16))


def image(kind, records, version=2):
    head = b"CRYOIMG\0" + struct.pack("<II", version, kind)
    if version >= 2:
        head += DUMP_ID
    out = head + struct.pack("<I", crc32c(head))
    for rec in records:
        length = struct.pack("<I", len(rec))
        out += length + struct.pack("<I", crc32c(length + rec)) + rec
    return out + struct.pack("<II", 0xFFFFFFFF, len(records))


def bytes_field(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def zigzag(v):
    return v * 2 if v >= 0 else -v * 2 - 1


def entry(vaddr, nr_pages, state, file_off=None):
    rec = uint_field(1, vaddr) + uint_field(2, nr_pages) + uint_field(3, state)
    return rec if file_off is None else rec + uint_field(4, file_off)


inventory = (uint_field(1, 2) + str_field(2, "0.1") + uint_field(3, 1234) +
             uint_field(4, 1700000000) + uint_field(5, PAGE) + str_field(6, "x86_64") +
             str_field(7, "6.1.0"))
pagemap = [entry(0x400000, 2, PRESENT, 0), entry(0x402000, 3, ZERO),
           entry(0x405000, 1, PRESENT, 2 * PAGE)]

fds = [uint_field(1, 0) + uint_field(2, 1) + uint_field(3, 0),
       uint_field(1, 3) + uint_field(2, 1) + uint_field(3, 1)]
pidfd_file = (uint_field(1, 1) + uint_field(2, FILE_KIND_PIDFD) + uint_field(3, 2) +
              uint_field(4, 0) + bytes_field(26, uint_field(1, zigzag(42))))
runs = [uint_field(1, 0) + bytes_field(2, b"abcd"), uint_field(1, 8) + bytes_field(2, b"ef")]

ns_ids = b"".join(uint_field(n, 4026531830 + n) for n in range(1, 11))
pstree = [uint_field(1, 100) + uint_field(2, 1) + uint_field(3, 100) + uint_field(4, 100) +
          uint_field(5, 1) + uint_field(6, 17) + uint_field(8, 100) + bytes_field(11, ns_ids),
          uint_field(1, 101) + uint_field(2, 100) + uint_field(3, 100) + uint_field(4, 100) +
          uint_field(5, 1) + uint_field(6, 17) + uint_field(8, 101) + bytes_field(11, ns_ids)]

def cgroup_v1(controllers, members, cgroups):
    rec = str_field(1, controllers)
    for pid, tid, path in members:
        rec += bytes_field(2, uint_field(1, pid) + (uint_field(2, tid) if tid else b"") +
                           str_field(3, path))
    for path, settings in cgroups:
        rec += bytes_field(3, str_field(1, path) + b"".join(
            bytes_field(2, str_field(1, f) + str_field(2, v)) for f, v in settings))
    return rec


cgroups_v1 = [cgroup_v1("cpu,cpuacct", [(100, 0, "/a/b")],
                        [("/a", [("cpu.shares", "512")]),
                         ("/a/b", [("cpu.cfs_period_us", "100000"),
                                   ("cpu.cfs_quota_us", "-1")])]),
              cgroup_v1("name=systemd", [(100, 0, "/"), (100, 101, "/t")], []),
              cgroup_v1("devices", [(100, 0, "/d")],
                        [("/d", [("devices.list", "c 1:3 rwm\nb *:* m")])])]

files = {
    "cgroups-v1.img": image(KIND_CGROUPS_V1, cgroups_v1),
    "pstree.img": image(KIND_PSTREE, pstree),
    "fds.img": image(KIND_FDS, fds),
    "files.img": image(KIND_FILES, [pidfd_file]),
    "file-data.img": image(KIND_FILE_DATA, runs),
    "inventory.img": image(KIND_INVENTORY, [inventory]),
    "pagemap.img": image(KIND_PAGEMAP, pagemap),
    "pagemap-empty.img": image(KIND_PAGEMAP, []),
    "pagemap-in-parent.img": image(KIND_PAGEMAP, [entry(0x400000, 2, PRESENT, 0),
                                                  entry(0x402000, 4, IN_PARENT)]),
    "pagemap-overlap.img": image(KIND_PAGEMAP, [entry(0x1000, 2, ZERO), entry(0x2000, 1, ZERO)]),
    "inventory-two-records.img": image(KIND_INVENTORY, [inventory, inventory]),
    "future-version.img": image(KIND_INVENTORY, [inventory], version=3),
    "format-1.img": image(KIND_PAGEMAP, pagemap, version=1),
    "truncated.img": image(KIND_PAGEMAP, pagemap)[:61],
    "not-an-image.bin": b"hello, fuzzer\n",
}
flipped = bytearray(files["pagemap.img"])
flipped[46] ^= 0x04
files["pagemap-bitflip.img"] = bytes(flipped)

corpus = pathlib.Path(__file__).resolve().parent / "corpus"
corpus.mkdir(exist_ok=True)
for name, data in files.items():
    (corpus / name).write_bytes(data)
