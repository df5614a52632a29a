"""Containment: the model, and code it writes, are treated as an attacker. A map of the package:

- `rungs.py`    which isolation works here, probed at start-up (bubblewrap, setuid bubblewrap,
                Landlock, none); change requests fail closed without one.
- `box.py`      the box itself: the allow-listed view every run gets (repo read-only but for the
                allowed folders, no .git, secrets masked, private home and /tmp, own /proc, no
                network but socket bridges), as bwrap arguments or Landlock rules.
- `landlock.py` the Landlock launcher (kernel rules on real paths, then exec).
- `cli.py`      one boxed run of the `claude` CLI: a model-proxy grant, a fresh config folder
                with only the chat's transcripts, a wrapper whose pid the wall clock can kill.
- `budget.py`   grants and the dollar cap the model proxy enforces per run.
- `egress.py`   the install step's only way out: CONNECT to package registries, nothing else.
- `changes.py`  Shipit's own check: the whole tree before and after; nothing outside the
                allowed paths is committed.
- `policy.py`, `bash.py`, `hooks.py`   the courtesy layer: a PreToolUse hook that refuses early
                and explains (long options expanded as getopt_long does).
- `names.py`    the one list of secret-shaped and protected names the box and policy share.
- `env.py`      the environments boxed processes get, built from nothing.
"""
