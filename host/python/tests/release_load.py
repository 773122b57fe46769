"""Policies.load("oci://...", trust=[...]): a signed release taken from a
real registry (Debian's docker-registry, started here on loopback) decides
exactly as the directory it was pushed from; a release signed by no
trusted key, and a load without keys, are refused."""

import os
import subprocess

import pyarrow as pa
import verdict

import customers
from common import AS_OF, POLICIES, VERDICT, WORK, check, ok


def start_registry():
    """A distribution registry on 127.0.0.1 (any free port) storing in WORK;
    its process and `HOST:PORT`."""
    config = os.path.join(WORK, "registry.yml")
    with open(config, "w", encoding="utf-8") as file:
        file.write(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {os.path.join(WORK, 'registry')}\nhttp:\n  addr: 127.0.0.1:0\n"
        )
    process = subprocess.Popen(
        ["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    for line in process.stderr:
        if "listening on " in line:
            host = line.split("listening on ", 1)[1].split('"')[0].split()[0]
            return process, host
    raise AssertionError("the registry stopped before it listened")


def cli(*args):
    run = subprocess.run([VERDICT, *args], capture_output=True, text=True, check=False)
    assert run.returncode == 0, f"verdict {' '.join(args)} failed ({run.returncode}): {run.stderr}"
    return run.stdout


registry, host = start_registry()
try:
    for name in ("ci", "other"):
        cli("release", "keygen", "--out", os.path.join(WORK, name))
    reference = f"{host}/verdict/policies:v1"
    pinned = cli("release", "push", POLICIES, reference, "--key", os.path.join(WORK, "ci.key")).splitlines()[-1]
    cache = os.path.join(WORK, "releases")
    trust = [os.path.join(WORK, "ci.pub")]

    released = verdict.Policies.load(f"oci://{reference}", trust=trust, release_cache=cache)
    local = verdict.Policies.load(POLICIES)
    check(released.names() == local.names(), f"names: {released.names()}")
    check(released.digests() == local.digests(), f"digests: {released.digests()}")
    batch = customers.table(500).to_batches()[0]
    a = released.decide(batch, as_of=AS_OF)
    b = local.decide(batch, as_of=AS_OF)
    check(pa.Table.from_batches([a]).equals(pa.Table.from_batches([b])), "decisions differ")
    ok("a release from the registry decides as its directory")

    def refused(call, fragment):
        try:
            call()
        except verdict.ReleaseError as error:
            check(fragment in str(error), f"ReleaseError {error} lacks {fragment!r}")
            return
        raise AssertionError("expected ReleaseError")

    refused(
        lambda: verdict.Policies.load(
            f"oci://{pinned}", trust=[os.path.join(WORK, "other.pub")], release_cache=os.path.join(WORK, "fresh")
        ),
        "is not signed by any trusted key",
    )
    refused(lambda: verdict.Policies.load(f"oci://{pinned}", release_cache=cache), "trust=[PATH, ...]")
    refused(lambda: verdict.Policies.load(POLICIES, trust=trust), "not to the directory")
    check(issubclass(verdict.ReleaseError, verdict.VerdictError), "ReleaseError is a VerdictError")
    ok("untrusted and keyless loads refused")

    # By digest, from the cache, with the registry gone.
    registry.kill()
    registry.wait()
    kept = verdict.Policies.load(f"oci://{pinned}", trust=trust, release_cache=cache)
    check(kept.digests() == local.digests(), f"kept digests: {kept.digests()}")
    ok("a release by digest is taken from the cache, verified again")
finally:
    registry.kill()
