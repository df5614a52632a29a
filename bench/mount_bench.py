"""Clone + install + check on a slow network mount versus local disk: why node_modules lives off S3 Files.

This machine's kernel has no NFS client, so the "mount" is a FUSE loopback file system (mfusepy
over libfuse3) that adds a fixed delay to every file-system call, the way each NFS call of an
S3 Files (EFS) mount pays a network round trip. What it does not model: close-to-open caching,
S3 sync and request charges, and the first-access metadata import; so real mounts are likely
slower, not faster. Rows: local disk, the FUSE mount with no delay (FUSE's own overhead), and
delays of 1 and 3 ms per call (EFS documents sub-millisecond to low single-digit latencies).

The workload is what one Shipit request does in the app's folder:
- clone: `git clone` of this repository (a few hundred files);
- install: lay down a node_modules tree: npm's own package tree (about 1,900 files), which is
  what an `npm install` writes, without the network;
- check: `git status` (stats every file), then the sample app's `node --test` and build.

Needs: `apt-get install fuse3` and the dev dependencies (`uv sync`). Run as root:
    uv run python bench/mount_bench.py
Prints a table; every server and mount it starts is stopped before it exits.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_APP = REPO_ROOT / "examples" / "sample-app"
DELAYS_MS = (None, 0.0, 1.0, 3.0)  # None: local disk, no mount
MOUNT_TIMEOUT_S = 20


def _serve(root: str, mountpoint: str, delay_s: float) -> None:
    """Serve `root` at `mountpoint` until unmounted (runs in a child process)."""
    import mfusepy as fuse

    class Loopback(fuse.Operations):
        """Every call goes to `root`, after `delay_s` (one simulated network round trip)."""

        use_ns = True

        def __init__(self) -> None:
            self.root = root

        def _at(self, path: str) -> str:
            """The backing path, after one simulated round trip (every call passes here)."""
            if delay_s:
                time.sleep(delay_s)
            return self.root + path

        def _os(self, func, *args):
            try:
                return func(*args)
            except OSError as exc:
                raise fuse.FuseOSError(exc.errno or errno.EIO) from exc

        def access(self, path, mode):
            path = self._at(path)
            if not os.access(path, mode):
                raise fuse.FuseOSError(errno.EACCES)
            return 0

        def getattr(self, path, fh=None):
            path = self._at(path)
            st = self._os(os.lstat, path)
            keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_ino")
            found = {k: getattr(st, k) for k in keys}
            for k in ("st_atime", "st_mtime", "st_ctime"):
                found[k] = getattr(st, k + "_ns") if hasattr(st, k + "_ns") else getattr(st, k)
            return found

        def readdir(self, path, fh):
            path = self._at(path)
            return [".", "..", *self._os(os.listdir, path)]

        def readlink(self, path):
            path = self._at(path)
            return self._os(os.readlink, path)

        def mkdir(self, path, mode):
            path = self._at(path)
            return self._os(os.mkdir, path, mode)

        def rmdir(self, path):
            path = self._at(path)
            return self._os(os.rmdir, path)

        def unlink(self, path):
            path = self._at(path)
            return self._os(os.unlink, path)

        def symlink(self, target, source):
            target = self._at(target)
            return self._os(os.symlink, source, target)

        def rename(self, old, new):
            old = self._at(old)
            return self._os(os.rename, old, self.root + new)

        def link(self, target, source):
            target = self._at(target)
            return self._os(os.link, self.root + source, target)

        def chmod(self, path, mode):
            path = self._at(path)
            return self._os(os.chmod, path, mode)

        def chown(self, path, uid, gid):
            path = self._at(path)
            return self._os(os.chown, path, uid, gid)

        def truncate(self, path, length, fh=None):
            path = self._at(path)
            return self._os(os.truncate, path, length)

        def utimens(self, path, times=None):
            path = self._at(path)
            # Not through a symlink: copying a node_modules/.bin link sets the link's own times.
            return self._os(lambda: os.utime(path, ns=times, follow_symlinks=False))

        def open(self, path, flags):
            path = self._at(path)
            return self._os(os.open, path, flags)

        def create(self, path, mode, fi=None):
            path = self._at(path)
            return self._os(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

        def read(self, path, size, offset, fh):
            path = self._at(path)
            return self._os(os.pread, fh, size, offset)

        def write(self, path, data, offset, fh):
            path = self._at(path)
            return self._os(os.pwrite, fh, data, offset)

        def flush(self, path, fh):
            path = self._at(path)
            return 0

        def release(self, path, fh):
            path = self._at(path)
            return self._os(os.close, fh)

        def fsync(self, path, datasync, fh):
            path = self._at(path)
            return self._os(os.fsync, fh)

        def statfs(self, path):
            path = self._at(path)
            st = os.statvfs(path)
            keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree")
            return {
                k: getattr(st, k) for k in (*keys, "f_files", "f_flag", "f_frsize", "f_namemax")
            }

    fuse.FUSE(Loopback(), mountpoint, foreground=True)


def _mounted(path: Path) -> bool:
    return any(
        line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines()
    )


def _run(*args: str, cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {cwd}:\n{done.stdout}{done.stderr}")


def workload(work: Path, origin: Path, modules: Path) -> dict[str, float]:
    times = {}
    started = time.perf_counter()
    _run("git", "clone", "-q", str(origin), "repo", cwd=work)
    times["clone"] = time.perf_counter() - started
    repo = work / "repo"
    shutil.copytree(SAMPLE_APP, repo / "app")
    started = time.perf_counter()
    shutil.copytree(modules, repo / "app" / "node_modules" / "npm", symlinks=True)
    times["install"] = time.perf_counter() - started
    started = time.perf_counter()
    _run("git", "status", "--porcelain", "--untracked-files=all", cwd=repo)
    _run("node", "--test", cwd=repo / "app")
    _run("node", "build.js", cwd=repo / "app")
    times["check"] = time.perf_counter() - started
    return times


def main() -> None:
    npm = Path(shutil.which("npm") or "/usr/bin/npm").resolve().parent.parent
    if not (npm / "package.json").is_file():
        raise SystemExit(f"npm's package tree not found (looked in {npm})")
    with tempfile.TemporaryDirectory(prefix="mount-bench-") as tmp:
        base = Path(tmp)
        origin = base / "origin.git"
        _run("git", "clone", "-q", "--bare", str(REPO_ROOT), str(origin), cwd=base)
        rows = []
        for delay in DELAYS_MS:
            backing, mountpoint = base / f"backing-{delay}", base / f"mnt-{delay}"
            backing.mkdir()
            server = None
            if delay is None:
                work = backing
            else:
                mountpoint.mkdir()
                server = multiprocessing.Process(
                    target=_serve, args=(str(backing), str(mountpoint), delay / 1000), daemon=True
                )
                server.start()
                deadline = time.monotonic() + MOUNT_TIMEOUT_S
                while not _mounted(mountpoint):
                    if time.monotonic() > deadline or not server.is_alive():
                        raise SystemExit("the FUSE mount did not come up (is fuse3 installed?)")
                    time.sleep(0.05)
                work = mountpoint
            try:
                rows.append((delay, workload(work, origin, npm)))
            finally:
                if server is not None:
                    subprocess.run(["fusermount3", "-u", str(mountpoint)], check=False)
                    server.join(10)
                    if server.is_alive():
                        server.kill()
        print(f"{'where':<28}{'clone s':>9}{'install s':>11}{'check s':>9}{'total s':>9}")
        for delay, times in rows:
            label = "local disk" if delay is None else f"FUSE mount, +{delay:g} ms/call"
            total = sum(times.values())
            print(
                f"{label:<28}{times['clone']:>9.2f}{times['install']:>11.2f}"
                f"{times['check']:>9.2f}{total:>9.2f}"
            )


if __name__ == "__main__":
    main()
