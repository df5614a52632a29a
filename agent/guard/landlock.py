"""The Landlock rung: apply kernel access rules to this process, then exec the boxed command.

`python -m agent.guard.landlock '<rules json>' -- argv...`. Rules (see box.Box._landlock_rules):
`read` (read files, list, execute), `list` (list only), `write` (read and write below),
`device_read` (read only), `connect_tcp` (the only TCP ports it may connect to; binding none).
Everything not named is denied by the kernel, for this process and everything it starts.

Hand-written over ctypes: the PyPI bindings are pre-releases without network rules, and this is
three system calls and two structs (linux/landlock.h).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import sys

_CALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_WRITE = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | TRUNCATE
_READ = EXECUTE | READ_FILE | READ_DIR


class LandlockError(Exception):
    """The kernel refused to build or apply the ruleset."""

    def __init__(self, step: str, errno: int) -> None:
        super().__init__(f"landlock {step} failed: {os.strerror(errno)}")
        self.step = step
        self.errno = errno


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def apply(rules: dict) -> None:
    """Restrict this process (and its future children) to `rules`; raises LandlockError."""
    create, add, restrict = _CALLS[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 4:
        raise LandlockError("version", ctypes.get_errno() or 95)
    handled_fs = _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= abi)]
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16
    attr = _RulesetAttr(handled_fs, NET_BIND_TCP | NET_CONNECT_TCP, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL
    fd = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise LandlockError("create_ruleset", ctypes.get_errno())
    grants = [(p, _READ) for p in rules.get("read", [])]
    grants += [(p, READ_DIR) for p in rules.get("list", [])]
    grants += [(p, _READ | _WRITE | (IOCTL_DEV if abi >= 5 else 0)) for p in rules.get("write", [])]
    grants += [
        (p, READ_FILE | (IOCTL_DEV if abi >= 5 else 0)) for p in rules.get("device_read", [])
    ]
    for path, access in grants:
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # a path that does not exist grants nothing
        try:
            if not os.path.isdir(path):  # file rules take file rights only
                access &= EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
            rule = _PathBeneath(access & handled_fs, target)
            if libc.syscall(add, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                raise LandlockError(f"add_rule {path}", ctypes.get_errno())
        finally:
            os.close(target)
    for port in rules.get("connect_tcp", []):
        rule = _NetPort(NET_CONNECT_TCP, int(port))
        if libc.syscall(add, fd, _RULE_NET_PORT, ctypes.byref(rule), 0) != 0:
            raise LandlockError(f"add_rule port {port}", ctypes.get_errno())
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise LandlockError("no_new_privs", ctypes.get_errno())
    if libc.syscall(restrict, fd, 0) != 0:
        raise LandlockError("restrict_self", ctypes.get_errno())
    os.close(fd)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m agent.guard.landlock '<rules json>' -- command...", file=sys.stderr)
        return 2
    try:
        apply(json.loads(argv[0]))
    except LandlockError as exc:  # fail closed: never run the command unconfined
        print(f"shipit box: {exc}", file=sys.stderr)
        return 125
    os.execv(argv[2], argv[2:])
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
