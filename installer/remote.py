"""An engine on another computer, reached by ssh: how its worker is started, and what ssh's own
complaints mean for the artist. Standard library only.

The worker's protocol already runs over any byte stream, and the worker ends when its input
closes, so ``ssh HOST 'cd ENGINE && exec PYTHON -m core.worker ...'`` is the whole transport. ssh
never asks for a password here (``BatchMode``): a key must be set up. Keep-alives notice a dropped
connection within about 15 s, so neither side waits on a dead link.
"""

from __future__ import annotations

import re
import shlex

SSH_OPTIONS = (
    "-T",  # no terminal: the protocol's bytes pass untouched
    "-o", "BatchMode=yes",  # never a password prompt (GIMP has no terminal to show it)
    "-o", "ConnectTimeout=15",
    "-o", "ServerAliveInterval=5",
    "-o", "ServerAliveCountMax=3",
)  # fmt: skip


def ssh_command(host: str, ssh: str = "") -> list:
    """``ssh`` (a command line such as "ssh -F FILE -p 2222", as ``rsync -e`` takes it; empty:
    plain ssh) with our options, to ``host`` (``user@host`` or an alias of ``~/.ssh/config``)."""
    return [*shlex.split(ssh or "ssh"), *SSH_OPTIONS, host]


def remote_command(argv: list, folder: str) -> str:
    """The command line for the remote's POSIX shell: ``argv`` run in ``folder``."""
    return f"cd {shlex.quote(folder)} && exec {shlex.join(argv)}"


# ssh's words (and the remote shell's), most telling first, and what they mean for the artist.
_COMPLAINTS = (
    (r"Could not resolve hostname|Name or service not known|nodename nor servname",
     "{host} cannot be found: check its name"),
    (r"Permission denied|Too many authentication failures",
     "{host} refused the key: set up an ssh key for {host} (Neural Style never asks for passwords)"),
    (r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED",
     "{host}'s host key is not known here, or has changed: connect once with ssh {host} to check it"),
    (r"Connection refused|Connection timed out|No route to host|Network is unreachable|Operation timed out",
     "{host} cannot be reached: is it on, and does it run an ssh server?"),
    (r"python3: (command )?not found|python3: No such file",
     "{host} has no python3 to run the installer: install Python 3.10 or newer there"),
    (r"can't cd|cannot cd|No such file or directory|not found",
     "{host} has no Neural Style engine where the settings say: install it with python3 -m installer --remote {host}"),
    (r"Timeout, server .* not responding|Connection (to .* )?closed|Connection reset|Broken pipe|client_loop",
     "the connection to {host} dropped"),
)  # fmt: skip


def explain(stderr: str, host: str) -> str | None:
    """The artist's sentence for what went wrong between here and ``host``, from what ssh (or the
    remote's shell) wrote on stderr; None when it says nothing we know."""
    for pattern, sentence in _COMPLAINTS:
        if re.search(pattern, stderr):
            return sentence.format(host=host)
    return None
