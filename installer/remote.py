"""An engine on another computer, reached by ssh, or in WSL on this Windows PC: how its worker is
started, and what the way there says when it fails, for the artist. Standard library only.

The worker's protocol already runs over any byte stream, and the worker ends when its input
closes, so ``ssh HOST 'cd ENGINE && exec PYTHON -m core.worker ...'`` is the whole transport
(``wsl.exe -d DISTRO -- sh -c '...'`` the same into WSL). ssh never asks for a password here
(``BatchMode``): a key must be set up. Keep-alives notice a dropped connection within about
15 s, so neither side waits on a dead link.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

SSH, WSL = "ssh", "wsl"
KINDS = (SSH, WSL)
SSH_OPTIONS = (
    "-T",  # no terminal: the protocol's bytes pass untouched
    "-o", "BatchMode=yes",  # never a password prompt (GIMP has no terminal to show it)
    "-o", "ConnectTimeout=15",
    "-o", "ServerAliveInterval=5",
    "-o", "ServerAliveCountMax=3",
)  # fmt: skip


class Way(NamedTuple):
    """The way to the engine's shell: ``kind`` SSH (``host`` is user@host or an alias of
    ~/.ssh/config, ``ssh`` the ssh command line such as "ssh -p 2222", as ``rsync -e`` takes
    it) or WSL (``host`` is the distribution's name)."""

    kind: str
    host: str
    ssh: str = ""

    def shell(self) -> list:
        """The command line that runs one shell command there (given as the last argument)."""
        if self.kind == WSL:
            return ["wsl.exe", "-d", self.host, "--", "sh", "-c"]
        return ssh_command(self.host, self.ssh)

    def name(self) -> str:
        """For people: "gpubox", "WSL (Ubuntu)"."""
        return f"WSL ({self.host})" if self.kind == WSL else self.host

    def where(self) -> str:
        """ "on gpubox", "in WSL (Ubuntu)"."""
        return f"in {self.name()}" if self.kind == WSL else f"on {self.name()}"

    def installer_option(self) -> str:
        """How the installer is told to put the engine there."""
        return f"--wsl {self.host}" if self.kind == WSL else f"--remote {self.host}"

    def explain(self, stderr: str) -> str | None:
        """The artist's sentence for what went wrong on the way, from what ssh, wsl.exe or the
        shell there wrote on stderr; None when it says nothing we know."""
        text = stderr.replace("\x00", "")  # wsl.exe writes UTF-16
        for pattern, sentence in _COMPLAINTS:
            if re.search(pattern, text):
                return sentence.format(host=self.name(), option=self.installer_option())
        return None


def ssh_command(host: str, ssh: str = "") -> list:
    """``ssh`` (empty: plain ssh) with our options, to ``host``."""
    return [*shlex.split(ssh or "ssh"), *SSH_OPTIONS, host]


def remote_command(argv: list, folder: str) -> str:
    """The command line for the POSIX shell there: ``argv`` run in ``folder``."""
    return f"cd {shlex.quote(folder)} && exec {shlex.join(argv)}"


# What ssh, wsl.exe and the shell there say, most telling first, and what it means for the artist.
_COMPLAINTS = (
    (r"Could not resolve hostname|Name or service not known|nodename nor servname",
     "{host} cannot be found: check its name"),
    (r"There is no distribution with the supplied name|WSL_E_DISTRO_NOT_FOUND",
     "{host} cannot be found: check the distribution's name with wsl --list"),
    (r"Permission denied|Too many authentication failures",
     "{host} refused the key: set up an ssh key for {host} (Neural Style never asks for passwords)"),
    (r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED",
     "{host}'s host key is not known here, or has changed: connect once with ssh {host} to check it"),
    (r"Connection refused|Connection timed out|No route to host|Network is unreachable|Operation timed out",
     "{host} cannot be reached: is it on, and does it run an ssh server?"),
    (r"python3: (command )?not found|python3: No such file",
     "{host} has no python3 to run the installer: install Python 3.10 or newer there"),
    (r"can't cd|cannot cd|No such file or directory|not found",
     "{host} has no Neural Style engine where the settings say: install it with python3 -m installer {option}"),
    (r"Timeout, server .* not responding|Connection (to .* )?closed|Connection reset|Broken pipe|client_loop",
     "the connection to {host} dropped"),
)  # fmt: skip
