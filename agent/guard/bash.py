"""Which Bash commands the agent may run: parsed with bashlex, checked word by word, default deny.

Why a library parser: quoting, nested `$(...)`, here-docs, fd redirections and compound commands
are where hand-written splitters go wrong, and every wrong split is a bypass. bashlex is a port of
Bash's own grammar and gives a typed tree, so decisions rest on structure, not on regexes. Anything
it cannot parse, and any node kind not handled here, is denied. bashlex has quirks (it keeps `''`
inside `'a''b'`), so each word is also dequoted independently (shlex) and must agree.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Protocol

import bashlex


class PathRules(Protocol):
    """The file rules Bash arguments are held to (agent/guard/policy.py implements them); a
    protocol here so that this module imports nothing from the policy that imports it."""

    repo: str
    allowed: str

    def read(self, path: str, cwd: str, content: bool = True) -> str | None: ...
    def write(self, path: str, cwd: str) -> str | None: ...
    def search_filter(self, glob: str | None, file_type: str | None = None) -> str | None: ...
    def in_allowed_dir(self, path: str, cwd: str) -> bool: ...


MAX_NESTING = 3  # sh -c 'sh -c "..."' deep enough for real use
# npm runs only package.json's scripts, and package.json is protected: these stay the repo's own.
CONVENTIONAL = {("npm", "test"), ("npm", "run", "test"), ("npm", "run", "build")}


@dataclass(frozen=True)
class Reader:
    """How a read-only command takes its arguments (option sets are space-separated strings)."""

    content: bool = True  # prints file contents, so secret files matter (not just names)
    values: str = ""  # options whose value is not a file
    files: str = ""  # options whose value is a file it reads
    deny: str = ""  # options that write, run programs or follow symlinks out of the repo
    broad: str = ""  # options that read beyond the named files (recursion, hidden files)
    patterns: str | None = None  # options giving the pattern; None: no pattern operand
    filters: str = ""  # glob/type options choosing which files are read (-g, --type)
    max_files: int | None = None
    response_files: bool = False  # binutils: an @FILE operand is read for more arguments


_GREP = Reader(
    values="-e -m -A -B -C --regexp --max-count --label --include --exclude --exclude-dir "
    "--context --after-context --before-context",
    files="-f --file --exclude-from",
    patterns="-e -f --regexp --file",
    deny="-R --dereference-recursive -d --directories",
    broad="-r --recursive",
    filters="--include",
)
_RG = Reader(
    values="-e -g -t -T -m -A -B -C -j -M -r -E -d --regexp --glob --iglob --type --type-not "
    "--max-count --context --max-columns --replace --max-depth --sort --sortr --encoding",
    files="-f --file --ignore-file",
    patterns="-e -f --regexp --file",
    deny="--pre --pre-glob -L --follow --type-add",
    filters="-g --glob --iglob -t --type",
    broad="--hidden -. -u --unrestricted --no-ignore --no-ignore-vcs --no-ignore-dot "
    "--no-ignore-parent --no-ignore-files --no-ignore-exclude",
)
READERS: dict[str, Reader] = {
    **dict.fromkeys(["cat", "nl", "tac", "rev", "fold", "expand", "column"], Reader()),
    "strings": Reader(response_files=True),  # `strings @F` echoes F's lines in its errors
    **dict.fromkeys(["md5sum", "sha1sum", "sha256sum", "od", "paste"], Reader()),
    **dict.fromkeys(["cmp", "comm"], Reader()),
    **dict.fromkeys(["grep", "egrep", "fgrep"], _GREP),
    **dict.fromkeys(["ls", "stat", "realpath", "readlink"], Reader(False)),
    # These list names, but read (and echo, in their errors) the files some options name.
    "wc": Reader(False, files="--files0-from"),
    "du": Reader(False, files="--files0-from -X --exclude-from"),
    "file": Reader(False, files="-f --files-from -m --magic-file"),
    "hexdump": Reader(values="-e -n -s --format --length --skip", files="-f --format-file"),
    "rg": _RG,
    "head": Reader(values="-n -c --lines --bytes"),
    "tail": Reader(values="-n -c --lines --bytes -s --sleep-interval"),
    "cut": Reader(values="-d -f -c -b --delimiter --fields"),
    "sort": Reader(
        values="-k -t -S --key --field-separator --buffer-size",
        files="--files0-from --random-source",
        deny="-o --output -T --temporary-directory --compress-program",
    ),
    "uniq": Reader(values="-f -s -w", max_files=1),  # a second operand is an output file
    "diff": Reader(files="--from-file --to-file", deny="-r --recursive"),
    "xxd": Reader(deny="-r --revert", max_files=1),
    # sed can write (w, s///w, -i) and run programs (e): its script is checked (SED_SCRIPT).
    "sed": Reader(
        values="-e --expression -l --line-length",
        patterns="-e --expression",
        deny="-i --in-place -f --file",
    ),
    "tree": Reader(False, values="-L -P -I", deny="-o -R --fromfile"),
}
PLAIN = frozenset({"echo", "printf", "pwd", "true", "false", "basename", "dirname", "tr", "sleep"})
WRITERS = {"mkdir": "pv", "touch": "c", "rm": "rRfv", "cp": "rRfnvp", "mv": "fnv", "tee": "a"}
FIND_ACTIONS = "-exec -execdir -ok -okdir -delete -fprint -fprint0 -fprintf -fls"
GIT_READ = (
    "status diff log show ls-files ls-tree blame rev-parse grep shortlog describe cat-file "
    "rev-list show-ref name-rev branch tag stash reflog whatchanged diff-tree diff-files diff-index"
)
GIT_LISTING = {"branch": "-a -r -v -vv -l --list --all --remotes --show-current --verbose"}
GIT_LISTING["tag"] = "-l --list"
GIT_BAD_OPTIONS = ("--output", "--no-index", "-O", "--open-files-in-pager", "--ext-diff")
GIT_BAD_OPTIONS += ("--untracked", "--no-exclude-standard")  # git grep beyond tracked files
# Options whose value is a file git reads, and shows: `blame --contents F` prints F, and
# `grep -f F`, `blame -S F` / `--ignore-revs-file F` echo its lines in their errors. The file
# rules apply to the value. (-S is also log's pickaxe string; checking it as a path is harmless.)
GIT_FILE_OPTIONS = ("--contents", "--ignore-revs-file", "--file", "--exclude-from")
GIT_FILE_OPTIONS += ("--pathspec-from-file",)
GIT_FILE_LETTERS = "fSX"  # -f (grep), -S (blame), -X (ls-files), clustered or not

_BECAUSE = {
    "network": "Network access is off limits (no curl, wget, ssh, nc, rsync...).",
    "package": "Package managers, interpreters and build tools run only as the repo's own commands",
    "env": "The environment and shell settings are off limits (they can hold secrets).",
    "process": "Process inspection and control (ps, kill, /proc) are off limits.",
    "indirect": "It runs other commands or code in a way that cannot be checked; run them directly.",
    "link": "Links are not allowed (a link can point a safe-looking path at a protected file).",
}
_MEMBERS = {
    "network": "curl wget nc ncat netcat ssh scp sftp rsync ftp telnet socat ping dig nslookup "
    "host http https aria2c",
    "package": "npm npx pnpm yarn bun deno pip pip3 pipx uv uvx poetry gem bundle cargo go "
    "composer apt apt-get brew make node nodejs perl ruby php lua java jq python python3 tsx",
    "env": "env printenv export set declare typeset unset alias readonly local compgen shopt "
    "hash ulimit umask",
    "process": "ps top htop pgrep pkill kill killall lsof strace ltrace gdb pstree fuser pidof "
    "jobs disown wait",
    "indirect": "eval exec source . xargs nohup timeout nice ionice time stdbuf setsid command "
    "builtin sudo su doas chroot unshare nsenter watch script parallel flock trap awk gawk mawk "
    "nawk base64",
    "link": "ln link symlink",
}
CATEGORY = {name: kind for kind, names in _MEMBERS.items() for name in names.split()}
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "fish"})

_ADDR = r"(?:\d+|\$|/(?:[^/\\\n]|\\.)*/I?)(?:~\d+)?"
_PART = r"(?:[^/\\\n]|\\.)*"
_SED_CMD = rf"(?:[pdqQ=lnNPDgGhHx]|s/{_PART}/{_PART}/[gpiImM0-9]*|y/{_PART}/{_PART}/)"
_SED_ONE = rf"\s*(?:{_ADDR}(?:\s*,\s*(?:{_ADDR}|[+~]\d+))?)?\s*!?\s*{_SED_CMD}\s*"
# Only sed commands that print or edit the stream: no w/W/r/R/e, no s///w or s///e.
SED_SCRIPT = re.compile(rf"{_SED_ONE}(?:[;\n]{_SED_ONE})*[;\n]?\s*")
BRACES = re.compile(r"\{[^{}]*(,|\.\.)[^{}]*\}")


class Denied(Exception):
    """A part of the command is not allowed; the message tells the model what to do instead."""


def expand_long(option: str, known: list[str]) -> str | None:
    """The long option `option` stands for, as GNU getopt_long and git's parse-options read it:
    an exact name, or a unique prefix of one. `--conten` is `--contents`. None when it names
    none of `known`; a prefix of several is resolved to the first dangerous reading by callers,
    so an ambiguous abbreviation is never treated as harmless."""
    if option in known:
        return option
    matches = [k for k in known if k.startswith("--") and k.startswith(option)]
    return matches[0] if len(option) > 2 and matches else None


def check_bash(command: str, rules: PathRules, commands: tuple[str, ...], cwd: str) -> str | None:
    """Why `command` may not run from `cwd`, or None when it may."""
    try:
        if command.strip() in {c.strip() for c in commands}:
            _Check(rules, commands).at_root({cwd})
        else:
            _Check(rules, commands).script(command, {cwd}, 0)
        return None
    except Denied as exc:
        return str(exc)


class _Check:
    def __init__(self, rules: PathRules, commands: tuple[str, ...]) -> None:
        self.rules = rules
        self.commands = commands
        self.trusted = CONVENTIONAL | {_argv(c) for c in commands} - {None}

    def script(self, text: str, cwds: set[str], depth: int) -> None:
        if not text.strip():
            raise Denied("Empty command.")
        try:
            trees = bashlex.parse(text)
        except Exception as exc:  # bashlex raises several types (and NotImplementedError)
            raise Denied(
                f"This command could not be checked ({type(exc).__name__}: {exc}). Use simple "
                "commands joined by &&, ; or |, with plain quotes; write files with the Write tool."
            ) from exc
        for i, tree in enumerate(trees):  # one tree per line; a later line runs regardless
            self.node(tree, text, cwds, depth, last=i == len(trees) - 1)

    def node(self, node, text: str, cwds: set[str], depth: int, last=False, then=False) -> None:
        if node.kind == "list":
            parts = node.parts
            ops = [(i, p.op) for i, p in enumerate(parts) if p.kind == "operator"]
            if any(op == "&" for _, op in ops):
                raise Denied("Background jobs (&) are not allowed; use run_in_background.")
            for i, part in enumerate(parts):
                if part.kind == "operator":
                    continue
                before = parts[i - 1].op if i else ";"
                after = [op for j, op in ops if i < j < len(parts) - 1]
                # In `cd x && a && b` nothing runs unless the cd worked; an `||` or `;` later
                # could run in the old folder, so then both folders stay possible.
                then = last and before in (";", "&&") and bool(after) and set(after) == {"&&"}
                self.node(part, text, cwds, depth, then=then)
        elif node.kind == "pipeline":
            for part in node.parts:
                if part.kind not in ("pipe", "reservedword"):
                    self.node(part, text, cwds, depth)
        elif node.kind == "command":
            self.command(node, text, cwds, depth, then)
        else:
            raise Denied("Loops, if, functions and ( ) { } groups are not allowed; chain with &&.")

    def command(self, node, text: str, cwds: set[str], depth: int, then: bool) -> None:
        words = []
        for part in node.parts:
            if part.kind == "word":
                words.append(self.word(part, text))
            elif part.kind == "redirect":
                self.redirect(part, text, cwds)
            elif part.kind == "assignment":
                raise Denied("Setting variables (NAME=value) is not allowed; write values inline.")
            else:
                raise Denied(f"Unsupported shell syntax ({part.kind}).")
        if not words:
            raise Denied("A redirection needs a command; write files with the Write tool.")
        self.argv(words, cwds, depth, then)

    def word(self, node, text: str) -> str:
        for part in getattr(node, "parts", []):
            if part.kind == "parameter":
                raise Denied("Variables and $'...' are not allowed; write values in single quotes.")
            if part.kind in ("commandsubstitution", "processsubstitution"):
                raise Denied(
                    "$(...), backticks and <(...) are not allowed; run the inner command first."
                )
            if part.kind == "tilde":
                raise Denied("~ (the home folder) is outside the repo; use paths inside the repo.")
            raise Denied(f"Unsupported shell syntax in a word ({part.kind}).")
        try:
            ours = shlex.split(text[node.pos[0] : node.pos[1]])
        except ValueError:
            ours = []
        if ours != [node.word]:
            raise Denied(f"Unusual quoting in {node.word!r}; use plain single or double quotes.")
        if BRACES.search(node.word):
            raise Denied("Brace expansion ({a,b}) is not allowed; list the names one by one.")
        return node.word

    def redirect(self, node, text: str, cwds: set[str]) -> None:
        kind, target = node.type, node.output
        if isinstance(target, int):
            return  # 2>&1, >&2: duplicating a descriptor, no file involved
        value = self.word(target, text)
        if kind in ("<<", "<<-"):
            if set("$`") & set(node.heredoc.value):
                raise Denied("This here-document would expand $ or `; create files with Write.")
        elif kind == "<<<":
            return
        elif kind == "<":
            self.read(value, cwds)
        elif kind in (">", ">>", ">|", "&>", "&>>", ">&"):
            if value != "/dev/null":
                self.write(value, cwds)
        else:
            raise Denied(f"Redirection {kind} is not allowed.")

    def argv(self, words: list[str], cwds: set[str], depth: int, then: bool) -> None:
        name, args = words[0], words[1:]
        if tuple(words) in self.trusted:
            return self.at_root(cwds)
        if "/" in name or set("*?[") & set(name):
            raise Denied(f"Run programs by plain name; {name!r} is a path or a pattern.")
        if name in SHELLS:
            if len(args) == 2 and args[0] == "-c" and depth < MAX_NESTING:
                inner = set(cwds)  # a child shell's cd does not move this one, but may fail
                self.script(args[1], inner, depth + 1)
                cwds |= inner
                return
            raise Denied(f"{name} is allowed only as `{name} -c '<commands>'`; better: run them.")
        if name == "cd":
            return self.cd(args, cwds, then)
        if name == "git":
            return self.git(args, cwds)
        if name == "find":
            return self.find(args, cwds)
        if name in READERS:
            return self.reader(READERS[name], name, args, cwds)
        if name in WRITERS:
            return self.writer(name, args, cwds)
        if name in PLAIN:
            return
        category = "package" if re.fullmatch(r"(python|pip|node)[0-9.]*", name) else None
        category = CATEGORY.get(name, category)
        if category == "package":
            raise Denied(f"{_BECAUSE['package']}: {self._own()}.")
        if category:
            raise Denied(f"{name}: {_BECAUSE[category]}")
        raise Denied(
            f"{name} is not a command that can be checked here. Allowed: {self._own()}; "
            "read-only inspection (ls, cat, head, tail, wc, grep, rg, find, sed -n, diff, sort, "
            "tree, git status/diff/log/show); mkdir, touch, rm, cp, mv, tee and > redirections "
            f"inside {self.rules.allowed}."
        )

    def cd(self, args: list[str], cwds: set[str], then: bool) -> None:
        if len(args) != 1 or args[0] == "-":
            raise Denied("cd needs one folder inside the repo.")
        self.read(args[0], cwds, content=False)
        new = {posixpath.normpath(posixpath.join(cwd, args[0])) for cwd in cwds}
        if then:
            cwds.clear()
        cwds |= new

    def git(self, args: list[str], cwds: set[str]) -> None:
        while args and args[0].startswith("-"):
            if args[0] == "--no-pager":
                args = args[1:]
            elif args[0] == "-C" and len(args) > 1:
                self.read(args[1], cwds, content=False)
                args = args[2:]
            else:
                raise Denied(
                    f"git {args[0]} is not allowed (it can change config or run programs)."
                )
        if not args:
            return
        sub, rest = args[0], args[1:]
        listing = GIT_LISTING[sub].split() if sub in GIT_LISTING else None
        changes = sub not in GIT_READ.split() or (
            sub == "stash" and rest[:1] not in (["list"], ["show"])
        )
        changes |= sub == "reflog" and rest[:1] not in ([], ["show"])
        if listing is not None:
            changes |= any(a not in listing for a in rest if a.startswith("-"))
            named = any(not a.startswith("-") for a in rest)  # a name creates, unless --list
            changes |= named and not {"-l", "--list"} & set(rest)
        if changes:
            raise Denied(
                f"git {sub} is not allowed. Shipit itself commits, switches branches, merges and "
                "pushes once the requester approves; only change files, then stop. You may use "
                "git status, diff, log, show, blame, ls-files and grep."
            )
        for i, arg in enumerate(rest):
            name, eq, value = arg.partition("=")
            long = name.startswith("--")
            if arg.startswith(GIT_BAD_OPTIONS) or (
                long and expand_long(name, list(GIT_BAD_OPTIONS))
            ):
                raise Denied(f"git option {arg} is not allowed (it writes files or runs programs).")
            following = rest[i + 1] if i + 1 < len(rest) else ""
            if long:
                name = expand_long(name, list(GIT_FILE_OPTIONS)) or name
            if name in GIT_FILE_OPTIONS:
                self.read((value if eq else following) or ".", cwds)
            elif arg.startswith("-") and not arg.startswith("--"):
                for j, letter in enumerate(arg[1:], start=1):
                    if letter in GIT_FILE_LETTERS:
                        self.read(arg[j + 1 :] or following or ".", cwds)
                    if letter in GIT_FILE_LETTERS + "Le":  # the rest of the cluster is its value
                        break
            # HEAD:path and -L1,5:path (or -L:name:path) show a file's content: the file rules
            # apply to the path.
            if arg.startswith("-L") and ":" in arg:
                self.read(arg.rsplit(":", 1)[1] or ".", cwds)
            elif ":" in arg and not arg.startswith("-"):
                self.read(arg.split(":", 1)[1] or ".", cwds)

    def find(self, args: list[str], cwds: set[str]) -> None:
        while args and args[0] in ("-H", "-L", "-P"):
            args = args[1:]
        paths = []
        for i, arg in enumerate(args):
            if arg.startswith(("-", "(", "!", ")")):
                expression = args[i:]
                break
            paths.append(arg)
        else:
            expression = []
        bad = [a for a in expression if a in FIND_ACTIONS.split()]
        if bad:
            raise Denied(f"find {bad[0]} is not allowed; find may only list files.")
        for path in paths or ["."]:
            self.read(path, cwds, content=False)
        # -files0-from reads a list of start points from a file, and echoes bad ones in errors.
        for i, arg in enumerate(expression):
            if arg == "-files0-from":
                self.read(expression[i + 1] if i + 1 < len(expression) else ".", cwds)

    def reader(self, spec: Reader, name: str, args: list[str], cwds: set[str]) -> None:
        values, files = spec.values.split(), spec.files.split()
        patterns_from = (spec.patterns or "").split()
        operands, read, patterns, broad, narrowed = [], [], [], False, False
        i = 0
        while i < len(args):
            arg, i = args[i], i + 1
            if arg == "--":
                operands += args[i:]
                break
            if arg == "-" or not arg.startswith("-"):
                operands.append(arg)
                continue
            opts, value = [arg.split("=", 1)[0]], arg.split("=", 1)[1] if "=" in arg else None
            if arg.startswith("--"):
                opts = [self.long_option(name, spec, opts[0])]
            else:  # short options cluster; one taking a value ends it
                opts, value = [], None
                for j, letter in enumerate(arg[1:], start=1):
                    opts.append("-" + letter)
                    if opts[-1] in values + files:
                        value = arg[j + 1 :] or None
                        break
            for opt in opts:
                if opt in spec.deny.split():
                    raise Denied(f"{name} {opt} is not allowed (it writes, runs or follows links).")
                broad |= opt in spec.broad.split()
            if opts[-1] in values + files:
                if value is None:
                    if i >= len(args):
                        raise Denied(f"{name} {opts[-1]} needs a value.")
                    value, i = args[i], i + 1
                if opts[-1] in spec.filters.split():
                    typed = opts[-1] in ("-t", "--type")
                    filters = (None, value) if typed else (value, None)
                    self.deny_if(self.rules.search_filter(*filters))
                    narrowed |= not value.startswith("!")
                if opts[-1] in files:
                    read.append(value)
                if opts[-1] in patterns_from:
                    patterns.append(value)
        if spec.patterns is not None and not patterns:
            if not operands:
                raise Denied(f"{name} needs a pattern.")
            patterns.append(operands.pop(0))
        if name == "sed" and not all(SED_SCRIPT.fullmatch(p) for p in patterns):
            raise Denied("Only printing sed scripts are allowed (like sed -n '1,20p' or s/a/b/g).")
        if spec.max_files is not None and len(operands) > spec.max_files:
            raise Denied(f"{name}: at most {spec.max_files} file here (another would be written).")
        for path in read:  # a file an option names is read in full, even by ls-like commands
            self.read(path, cwds)
        for path in [o for o in operands if o != "-"]:
            self.read(path, cwds, spec.content)
            if spec.response_files and path.startswith("@"):
                self.read(path[1:], cwds)
        # Recursive grep and rg --hidden/-u also read hidden and git-ignored files (.env),
        # unless a file filter (--include='*.js', -g, -t) picks which files are read.
        for path in (operands or ["."]) if broad and not narrowed else []:
            if not all(self.rules.in_allowed_dir(path, cwd) for cwd in cwds):
                raise Denied(
                    f"{name} with that option searches hidden files such as .env: search "
                    f"inside {self.rules.allowed}, or pick files with --include='*.js' (rg: -g)."
                )

    @staticmethod
    def long_option(name: str, spec: Reader, option: str) -> str:
        """Resolve an abbreviated long option; an abbreviation of a denied one is denied."""
        known = spec.files.split() + spec.values.split() + spec.broad.split()
        deny = [o for o in spec.deny.split() if o.startswith("--")]
        if option in known:  # an exact name wins over abbreviations, as in getopt_long
            return option
        hit = expand_long(option, deny)
        if hit:
            spelled = option if option == hit else f"{option} (short for {hit})"
            raise Denied(f"{name} {spelled} is not allowed (it writes, runs or follows links).")
        for candidate in (spec.files.split(), known):
            hit = expand_long(option, candidate)
            if hit:
                return hit
        return option

    def writer(self, name: str, args: list[str], cwds: set[str]) -> None:
        flags = [a for a in args if a.startswith("-") and a != "-"]
        operands = [a for a in args if a not in flags]
        for flag in flags:
            if flag.startswith("--") or set(flag[1:]) - set(WRITERS[name]):
                allowed = " ".join("-" + f for f in WRITERS[name]) or "none"
                raise Denied(f"{name} {flag} is not allowed here (allowed flags: {allowed}).")
        if not operands or (name in ("cp", "mv") and len(operands) < 2):
            raise Denied(f"{name} needs file operands inside {self.rules.allowed}.")
        for i, path in enumerate(operands):  # cp reads its sources; all else is written
            if name == "cp" and i < len(operands) - 1:
                self.read(path, cwds)
            else:
                self.write(path, cwds)

    def deny_if(self, reason: str | None) -> None:
        if reason:
            raise Denied(reason)

    # The working directory is known only up to the cd's seen so far: every candidate must pass.
    def read(self, path: str, cwds: set[str], content: bool = True) -> None:
        for cwd in sorted(cwds):
            self.deny_if(self.rules.read(path, cwd, content))

    def write(self, path: str, cwds: set[str]) -> None:
        for cwd in sorted(cwds):
            self.deny_if(self.rules.write(path, cwd))

    def at_root(self, cwds: set[str]) -> None:
        # `node build.js` run from src/ would run src/build.js, which the agent may write.
        if cwds != {self.rules.repo}:
            raise Denied(f"Run the repo's own commands from the repo root: cd {self.rules.repo}")

    def _own(self) -> str:
        return ", ".join(f"`{c}`" for c in self.commands) or "(this repo defines none)"


def _argv(command: str) -> tuple[str, ...] | None:
    """A repo command's words when it is one simple command (then it may be part of a pipeline)."""
    if set(command) & set(";&|<>()$`{}\n\\*?[~") or not command.strip():
        return None  # anything fancier is allowed only verbatim, as the whole Bash command
    return tuple(shlex.split(command))
