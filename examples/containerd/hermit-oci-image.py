#!/usr/bin/env python3
"""hermit-oci-image.py: packs Hermit kernels (and any other files) into an OCI image archive
that `ctr images import` (containerd) loads, without a container build tool or a registry.

    hermit-oci-image.py [--name REF] [--cmd ARG]... [--env KEY=VALUE]... [--workdir DIR]
                        OUT.tar SRC:DEST...

Each SRC (a file, or a directory copied whole) goes to the absolute path DEST in the image's one
layer, owned by root, with its permission bits. The archive is an OCI image layout (oci-layout,
index.json, blobs/sha256/: manifest, config, a gzip layer tar) named REF; the same inputs give
the same bytes, so the same image digest. Example:

    hermit-oci-image.py --name localhost/hello:1 --cmd /hello hello.tar build/hello:/hello
    ctr images import hello.tar
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import platform
import sys
import tarfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def layer_tar(entries):
    """An uncompressed tar of entries [(src, dest)], reproducible: sorted, root-owned, mtime 0."""
    items = {}  # path in the image (no leading /) -> host path, or None for a directory
    for src, dest in entries:
        dest = os.path.normpath(dest).lstrip("/")
        if not dest or dest.startswith(".."):
            sys.exit(f"hermit-oci-image: {dest!r} is not a path in the image")
        parts = dest.split("/")
        for i in range(1, len(parts)):
            items.setdefault("/".join(parts[:i]), None)
        if os.path.isdir(src):
            items[dest] = src
            for root, dirs, files in os.walk(src):
                for n in dirs + files:
                    p = os.path.join(root, n)
                    items[os.path.join(dest, os.path.relpath(p, src))] = p
        elif os.path.isfile(src):
            items[dest] = src
        else:
            sys.exit(f"hermit-oci-image: {src} is not a file or directory")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path in sorted(items):
            src = items[path]
            if src is None or os.path.isdir(src):
                ti = tarfile.TarInfo(path)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755 if src is None else os.stat(src).st_mode & 0o7777
                t.addfile(ti)
                continue
            ti = t.gettarinfo(src, path)
            if not (ti.isfile() or ti.issym()):
                sys.exit(f"hermit-oci-image: {src} is neither a regular file nor a symlink")
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = 0
            if ti.issym():
                t.addfile(ti)
                continue
            with open(src, "rb") as f:
                t.addfile(ti, f)
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser(description="Pack files into an OCI image archive for ctr import.")
    ap.add_argument("--name", default="localhost/hermit:latest", help="image reference")
    ap.add_argument("--cmd", action="append", default=[], help="an argument of the image's Cmd")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE of the image's Env")
    ap.add_argument("--workdir", default="/", help="the image's WorkingDir")
    ap.add_argument("out", help="the archive to write")
    ap.add_argument("files", nargs="+", metavar="SRC:DEST")
    a = ap.parse_args()
    entries = []
    for f in a.files:
        src, sep, dest = f.rpartition(":")
        if not sep or not dest.startswith("/"):
            sys.exit(f"hermit-oci-image: {f!r} is not SRC:/DEST")
        entries.append((src, dest))
    if ":" not in a.name.rsplit("/", 1)[-1]:
        a.name += ":latest"
    arch = ARCH.get(platform.machine(), platform.machine())
    env = a.env if any(e.startswith("PATH=") for e in a.env) else ["PATH=/bin"] + a.env

    blobs = {}

    def blob(data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def dumps(o):
        return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()

    raw = layer_tar(entries)
    layer = blob(gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": env, "WorkingDir": a.workdir, **({"Cmd": a.cmd} if a.cmd else {})},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(dumps(config), "application/vnd.oci.image.config.v1+json"),
        "layers": [layer],
    }
    desc = blob(dumps(manifest), "application/vnd.oci.image.manifest.v1+json")
    desc["platform"] = {"architecture": arch, "os": "linux"}
    # containerd names the image after io.containerd.image.name; other tools read ref.name.
    desc["annotations"] = {"io.containerd.image.name": a.name,
                           "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[1]}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [desc]}

    def add(t, path, data):
        ti = tarfile.TarInfo(path)
        ti.size, ti.mode = len(data), 0o644
        t.addfile(ti, io.BytesIO(data))

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        add(t, "oci-layout", dumps({"imageLayoutVersion": "1.0.0"}))
        add(t, "index.json", dumps(index))
        for digest in sorted(blobs):
            add(t, "blobs/sha256/" + digest, blobs[digest])
    os.replace(tmp, a.out)
    print(f"{a.out}: {a.name} {desc['digest']}")


if __name__ == "__main__":
    main()
