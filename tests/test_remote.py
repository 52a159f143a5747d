"""The engine on another computer, over ssh (``installer.remote``): a real ``sshd`` on a loopback
port with its own host key stands in for the other computer. The failures an artist meets (no
such host, nothing listening, a refused key, no engine there, a dropped link) each get one
sentence; a job runs through ssh as it runs locally; a killed plug-in leaves no worker there.

The refusals log in as a second local account with its own home and key. The painting logs in as
root, the only account that can run this checkout's engine here (its Python lies under /root); it
is still a real ssh login and a real worker on the far side of sshd.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from core import protocol
from installer import remote, settings
from tests.conftest import GIMP_SUITES, ROOT, skip_or_fail
from tests.gimp_harness import run_gimp
from tests.test_worker import CONTENT, FAST, STYLE

sys.path.insert(0, os.path.join(ROOT, "gimp_plugin", "neural_style"))  # the plug-in's modules, as GIMP has them
import engine_setup  # noqa: E402
from worker_client import WorkerError  # noqa: E402

REMOTE_USER = "nsg-remote"
SSHD = "/usr/sbin/sshd"


def test_the_worker_is_started_by_ssh_in_the_engines_folder_there():
    engine = settings.EngineSettings(
        "/opt/ns/env/bin/python", "/opt/ns engine", "/opt/ns/w.h5", "torch", "", "", "/logs", settings.SSH,
        "artist@gpubox", "ssh -p 2222",
    )  # fmt: skip
    command = settings.worker_command(engine, in_flatpak=False)
    assert command[:3] == ["ssh", "-p", "2222"] and command[-2] == "artist@gpubox"
    assert {"-T", "BatchMode=yes", "ServerAliveInterval=5"} <= set(command)
    assert command[-1] == (
        "cd '/opt/ns engine' && exec /opt/ns/env/bin/python -m core.worker --weights /opt/ns/w.h5 --backend torch"
    )
    assert (
        settings.worker_folder(engine) is None
        and settings.worker_folder(engine._replace(kind="local")) == "/opt/ns engine"
    )
    assert settings.worker_command(engine._replace(ssh=""), in_flatpak=False)[0] == "ssh"


@pytest.mark.parametrize(
    "stderr, sentence",
    [
        ("ssh: Could not resolve hostname gpubox: Name or service not known", "gpubox cannot be found"),
        ("artist@gpubox: Permission denied (publickey).", "refused the key: set up an ssh key for gpubox"),
        ("ssh: connect to host gpubox port 22: Connection refused", "gpubox cannot be reached"),
        ("Host key verification failed.", "host key is not known here"),
        ("sh: 1: cd: can't cd to /opt/ns", "gpubox has no Neural Style engine"),
        ("Connection to gpubox closed by remote host.", "the connection to gpubox dropped"),
        ("Timeout, server gpubox not responding.", "the connection to gpubox dropped"),
        ("Traceback (most recent call last):", None),
    ],
)
def test_what_ssh_says_becomes_one_sentence(stderr, sentence):
    explained = remote.Way(remote.SSH, "gpubox").explain(stderr)
    assert explained == sentence if sentence is None else sentence in explained


def test_an_engine_in_wsl_is_started_by_wsl_exe_and_its_complaints_read_even_in_utf_16():
    """Not tried on a real Windows PC: the command line and the sentences are what can be checked here."""
    engine = settings.EngineSettings(
        "/home/me/ns/python", "/home/me/ns/engine", "/home/me/ns/w.h5", "jax", "", "", "", settings.WSL, "Ubuntu"
    )
    assert settings.worker_command(engine, in_flatpak=False) == [
        "wsl.exe", "-d", "Ubuntu", "--", "sh", "-c",
        "cd /home/me/ns/engine && exec /home/me/ns/python -m core.worker --weights /home/me/ns/w.h5 --backend jax",
    ]  # fmt: skip
    way = engine.way()
    assert (way.name(), way.where(), way.installer_option()) == ("WSL (Ubuntu)", "in WSL (Ubuntu)", "--wsl Ubuntu")
    utf_16 = "There is no distribution with the supplied name.".encode("utf-16-le").decode("utf-8", "replace")
    assert way.explain(utf_16) == "WSL (Ubuntu) cannot be found: check the distribution's name with wsl --list"
    assert way.explain("sh: 1: cd: can't cd to /home/me/ns/engine").endswith("python3 -m installer --wsl Ubuntu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trust_store() -> str:
    """The sessions get this machine's trust store settings, as an account on a computer behind
    the same TLS-inspecting proxy would have them (the engine's install downloads from PyPI)."""
    names = ("SSL_CERT_FILE", "SSL_CERT_DIR")
    found = " ".join(f"{name}={os.environ[name]}" for name in names if os.environ.get(name))
    return f"SetEnv {found}\n" if found else ""


class Sshd:
    """A private sshd on a loopback port; ``ssh`` is the client command line that reaches it
    with ``key`` (the host key is taken as it comes, once, into a known-hosts file of its own)."""

    def __init__(self, folder):
        if os.geteuid() != 0 or not os.path.exists(SSHD):
            skip_or_fail("the remote engine's tests need root and Debian's openssh-server (tests/run.sh installs it)")
        self.folder, self.port = folder, free_port()
        # sshd reads a user's authorized keys as that user: a folder the second account can read
        self.keys = Path(tempfile.mkdtemp(prefix="nsg-authorized-"))
        self.keys.chmod(0o755)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")], check=True)
        config = folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.keys}/%u\nStrictModes no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            f"AllowUsers root {REMOTE_USER}\n" + _trust_store()
        )
        os.makedirs("/run/sshd", exist_ok=True)
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)

    def key_for(self, user: str, name: str) -> str:
        """A new key of ``user``'s, which this sshd takes."""
        key = self.folder / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        with open(self.keys / user, "a") as f:
            f.write((self.folder / f"{name}.pub").read_text())
        return str(key)

    def ssh(self, key: str) -> str:
        known = self.folder / "known_hosts"
        return (
            f"ssh -F /dev/null -p {self.port} -i {key} -o IdentitiesOnly=yes -o UserKnownHostsFile={known} "
            "-o StrictHostKeyChecking=accept-new"
        )

    def drop_connections(self) -> None:
        """End every connection this sshd serves, as a network failure would (the sshd itself stays)."""
        for child in subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split():
            os.kill(int(child), signal.SIGKILL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.keys)


@pytest.fixture
def sshd(tmp_path):
    server = Sshd(tmp_path)
    yield server
    server.stop()


def second_account() -> str:
    """A second local account, the one the artist logs in as on the other computer."""
    if os.geteuid() != 0:
        skip_or_fail("making a second local account needs root")
    try:
        pwd.getpwnam(REMOTE_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", REMOTE_USER], check=True)
    subprocess.run(["usermod", "--password", "*", REMOTE_USER], check=True)  # no password, not locked: keys only
    return REMOTE_USER


@pytest.fixture
def remote_account():
    return second_account()


def engine_on(host, ssh, engine=ROOT, python=None, weights="/nowhere/w.h5"):
    return settings.EngineSettings(
        python or sys.executable, engine, weights, "tensorflow", "CPU", "", "", settings.SSH, host, ssh
    )


def failure(engine) -> WorkerError:
    with pytest.raises(WorkerError) as error:
        engine_setup.worker_for(engine).start()
    return error.value


def test_a_host_that_cannot_be_found_or_reached_is_said_in_one_line(sshd, remote_account):
    key = sshd.key_for(remote_account, "artist_key")
    unknown = failure(engine_on(f"{remote_account}@no-such-host.invalid", sshd.ssh(key)))
    assert (
        unknown.code == protocol.REMOTE
        and unknown.message == f"{remote_account}@no-such-host.invalid cannot be found: check its name"
    )
    closed = sshd.ssh(key).replace(f"-p {sshd.port}", f"-p {free_port()}")
    unreachable = failure(engine_on(f"{remote_account}@127.0.0.1", closed))
    assert unreachable.message.startswith(f"{remote_account}@127.0.0.1 cannot be reached")


def test_a_refused_key_asks_for_an_ssh_key_never_a_password(sshd, remote_account):
    sshd.key_for(remote_account, "artist_key")
    stranger = str(sshd.folder / "stranger_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
    refused = failure(engine_on(f"{remote_account}@127.0.0.1", sshd.ssh(stranger)))
    assert refused.code == protocol.REMOTE and refused.message == (
        f"{remote_account}@127.0.0.1 refused the key: set up an ssh key for {remote_account}@127.0.0.1 "
        "(Neural Style never asks for passwords)"
    )


def test_a_remote_without_the_engine_says_how_to_install_it(sshd, remote_account):
    key = sshd.key_for(remote_account, "artist_key")
    missing = failure(engine_on(f"{remote_account}@127.0.0.1", sshd.ssh(key), engine="/home/nobody/neural-style"))
    assert missing.message.endswith("install it with python3 -m installer --remote nsg-remote@127.0.0.1")


@pytest.fixture
def remote_engine(sshd, tmp_path, real_weights):
    """This checkout's engine reached through sshd as root, with a weights file of its own name,
    by which its workers are told apart from every other worker on this machine."""
    weights = tmp_path / "remote-weights.h5"
    os.symlink(real_weights, weights)
    return engine_on("root@127.0.0.1", sshd.ssh(sshd.key_for("root", "root_key")), weights=str(weights))


def remote_workers(engine) -> list:
    found = subprocess.run(["pgrep", "-f", f"core.worker --weights {engine.weights}"], capture_output=True, text=True)
    return found.stdout.split()


def gone_within(engine, seconds) -> bool:
    deadline = time.monotonic() + seconds
    while remote_workers(engine):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_job_paints_through_ssh_as_it_paints_here(remote_engine):
    with engine_setup.worker_for(remote_engine) as client:
        assert client.hello.device == "CPU" and client.hello.weights
        reports = []
        far = client.run_job(FAST, CONTENT, [STYLE], on_progress=reports.append)
    here_engine = remote_engine._replace(kind="local", logs="")
    with engine_setup.worker_for(here_engine) as client:
        near = client.run_job(FAST, CONTENT, [STYLE])
    assert [r.iteration for r in reports] == [1, 2, 3] and not far.cancelled
    assert far.pixels.data == near.pixels.data  # the same engine, the same picture, byte for byte over ssh
    assert gone_within(remote_engine, 5)


CLIENT = """
import sys
sys.path.insert(0, {plugin!r})
import engine_setup
from installer import settings
from tests.test_worker import CONTENT, FAST, STYLE
engine = settings.EngineSettings(*{fields!r})
with engine_setup.worker_for(engine) as client:
    client.run_job(dict(FAST, iterations=5000), CONTENT, [STYLE], on_progress=lambda p: print("painting", flush=True))
"""


def test_a_killed_plug_in_leaves_no_worker_on_the_other_computer(remote_engine):
    script = CLIENT.format(plugin=os.path.join(ROOT, "gimp_plugin", "neural_style"), fields=tuple(remote_engine))
    plug_in = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert plug_in.stdout.readline() == "painting\n"
    assert remote_workers(remote_engine)
    plug_in.kill()  # as GIMP kills a plug-in
    plug_in.wait()
    assert gone_within(remote_engine, 5), "the worker outlived the plug-in"


def test_a_dropped_connection_mid_job_is_one_line_and_leaves_no_worker(remote_engine, sshd):
    with engine_setup.worker_for(remote_engine) as client, pytest.raises(WorkerError) as error:
        client.run_job(
            dict(FAST, iterations=5000),
            CONTENT,
            [STYLE],
            on_progress=lambda progress: progress.iteration == 2 and sshd.drop_connections(),
        )
    assert error.value.code == protocol.REMOTE and error.value.message == "the connection to root@127.0.0.1 dropped"
    assert gone_within(remote_engine, 5)


def installer(*options, timeout=1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "installer", *options], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_the_installer_puts_the_engine_on_the_other_computer_and_the_plug_in_here(
    tmp_path, compact_weights, shrunk_samples
):
    """The real installer with --remote, as the second account over a real sshd: the engine is
    built there (from PyPI, as on any machine) with the weights sent along, its self-check runs
    there, the plug-in here says where; --check shakes hands there, GIMP (each root, scripted)
    paints through it, and --uninstall removes it there too."""
    from tests.gimp_harness import find_gimp

    gimps = [find_gimp(suite) for suite in GIMP_SUITES]
    if any(reason for _, reason in gimps):
        skip_or_fail(next(reason for _, reason in gimps if reason))
    account = second_account()
    home = pwd.getpwnam(account).pw_dir
    there = os.path.join(home, ".local", "share", "neural-style-gimp")
    for leftover in (there, os.path.join(home, ".neural-style-installer")):  # an earlier run's
        shutil.rmtree(leftover, ignore_errors=True)
    server = Sshd(tmp_path)
    try:
        host, ssh = f"{account}@127.0.0.1", server.ssh(server.key_for(account, "artist_key"))
        data, profile = tmp_path / "data", tmp_path / "profile"  # GIMP's profile, with a plug-in folder per GIMP
        plugin_dirs = [profile / gimp.plugins for gimp, _ in gimps]
        here = ["--data-dir", str(data), *(option for d in plugin_dirs for option in ("--plugin-dir", str(d)))]
        done = installer("--remote", host, "--ssh-command", ssh, "--weights", compact_weights, *here)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{host}: Self-check: the engine works on CPU (tensorflow)" in done.stdout
        assert f"Done: the engine computes on CPU (tensorflow) on {host}" in done.stdout
        engine = settings.read(str(data))
        assert (engine.kind, engine.host, engine.ssh, engine.device) == (
            settings.SSH,
            host,
            ssh,
            f"CPU (tensorflow) on {host}",
        )
        assert engine.engine == os.path.join(there, "engine") and os.path.isdir(engine.engine)  # built there
        assert all(os.path.isfile(d / "neural_style" / "neural_style.py") for d in plugin_dirs)
        checked = installer("--check", *here, timeout=300)
        assert checked.returncode == 0, checked.stdout
        assert (
            f"Installed: engine {engine.version} on {host}, computing on CPU (tensorflow) on {host}" in checked.stdout
        )
        pictures = shrunk_samples(96, 72)
        for gimp, _ in gimps:
            process, reports = run_gimp(
                f"""
image = load({pictures["tubingen"]!r})
ok, error = run_neural_style(image, [image.get_layers()[0]], load({pictures["starry_night"]!r}).get_layers()[0],
                             quality="custom", iterations=4, working_size=0)
report(ok=ok, error=error, layers=len(image.get_layers()))
""",
                str(profile),
                gimp,
            )
            assert reports and reports[0]["ok"] and reports[0]["layers"] == 2, (reports, process.stderr[-3000:])
            print(f"GIMP {reports[0]['gimp']}, Python {reports[0]['python']}: painted through {host}")
        log = (data / "logs" / "plugin.log").read_text()
        assert log.count(f"computes on CPU, tensorflow on {host}") == len(gimps)
        removed = installer("--uninstall", *here, timeout=300)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert not os.path.exists(there) and not os.path.exists(os.path.join(home, ".neural-style-installer"))
        assert not any(os.path.exists(d / "neural_style") for d in plugin_dirs) and not os.path.exists(data)
    finally:
        server.stop()


def test_the_installer_says_in_one_line_when_the_other_computer_refuses_the_key(sshd, remote_account, tmp_path):
    stranger = str(sshd.folder / "stranger_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True)
    host = f"{remote_account}@127.0.0.1"
    done = installer(
        "--remote", host, "--ssh-command", sshd.ssh(stranger), "--data-dir", str(tmp_path / "d"), timeout=120
    )
    assert done.returncode == 1 and done.stderr.strip() == (
        f"Installation failed: {host} refused the key: set up an ssh key for {host} "
        "(Neural Style never asks for passwords)"
    )
    assert not (tmp_path / "d").exists()


@pytest.mark.gimp
def test_gimp_paints_through_the_engine_on_the_other_computer(gimp, sshd, tmp_path, real_weights, shrunk_samples):
    """A scripted run in each GIMP whose settings put the engine on root@127.0.0.1: the painting
    is the engine's, as the command line paints it here, and the log says where it computed."""
    from tests.gimp_harness import decode_pixels
    from tests.test_gimp_plugin import AT_LAYER_SIZE, engine_painting, install

    pictures = shrunk_samples(96, 72)
    host = "root@127.0.0.1"
    config = install(gimp, tmp_path, real_weights, over_ssh=(host, sshd.ssh(sshd.key_for("root", "root_key"))))
    process, reports = run_gimp(
        f"""
image = load({pictures["tubingen"]!r})
ok, error = run_neural_style(image, [image.get_layers()[0]], load({pictures["starry_night"]!r}).get_layers()[0],
                             {AT_LAYER_SIZE})
report(ok=ok, error=error, painted=layer_pixels(image.get_layers()[0]))
""",
        config,
        gimp,
    )
    assert reports and reports[0]["ok"], (reports, process.stderr[-3000:])
    print(f"GIMP {reports[0]['gimp']}, Python {reports[0]['python']}")
    painted = decode_pixels(reports[0]["painted"], 96, 72)[..., :3].astype(int)
    expected = engine_painting(tmp_path, real_weights, pictures["tubingen"], pictures["starry_night"])
    assert abs(painted - expected).max() <= 2
    assert f"computes on CPU, tensorflow on {host}" in (tmp_path / "logs" / "plugin.log").read_text()


@pytest.mark.gimp
def test_the_progress_window_says_where_it_paints_and_stop_and_keep_works_over_ssh(
    gimp, sshd, tmp_path, real_weights, shrunk_samples
):
    """The artist's run in GIMP with the engine on root@127.0.0.1: OK, the progress window says
    it computes there and shows the painting growing, Stop and keep keeps it as a new layer, and
    no worker is left there."""
    from tests.gimp_gui import GuiSession
    from tests.test_gimp_gui import SCRIPT, SUCCESS, Session
    from tests.test_gimp_plugin import install

    samples = shrunk_samples(320, 240)
    host = "root@127.0.0.1"
    weights = tmp_path / "remote-weights.h5"  # its workers are told apart by it
    os.symlink(real_weights, weights)
    config = install(gimp, tmp_path, str(weights), over_ssh=(host, sshd.ssh(sshd.key_for("root", "root_key"))))
    script = SCRIPT.format(content=samples["tubingen"], style=samples["starry_night"], quality="standard")
    with GuiSession(gimp, config, script) as gui:
        gui.wait_for_reports(1, timeout=300)
        session = Session(gui, tmp_path, "", lambda: 0, samples["tubingen"], samples["starry_night"])
        session.wait_for_log("dialog: Standard: about", 1, timeout=300)  # the worker started there answers
        gui.key(gui.window("Neural Style Transfer"), "Return")
        window = gui.window("painting", timeout=60)
        first = session.wait_for_picture(1)
        session.wait_for_picture(first + 5)
        session.shot(window)  # README's progress window over ssh
        gui.key(window, "alt+s")  # Stop and keep
        report = session.done()
    print(f"GIMP {report['gimp']}, Python {report['python']}")
    assert report["status"] == SUCCESS and len(report["after"]) == 2
    assert report["after"][0]["name"].startswith("Background in the style of")
    log = (tmp_path / "logs" / "plugin.log").read_text()
    assert f"computes on CPU, tensorflow on {host}" in log and "stopped by the artist" in log
    assert gone_within(engine_on(host, "", weights=str(weights)), 5)


def test_the_transport_benchmark_times_a_picture_through_a_pipe_and_ssh(sshd):
    import json

    host, ssh = "root@127.0.0.1", sshd.ssh(sshd.key_for("root", "root_key"))
    done = subprocess.run(
        [sys.executable, "-m", "core.bench", "--random-weights", "--transport", host, "--ssh-command", ssh]
        + ["--full-size", "400x300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["transport"]
    assert report["picture"] == "400x300 RGBA" and report["megabytes"] == 0.5
    assert all(report[way] > 0 for way in ("local_pipe_seconds", "ssh_seconds", "ssh_compressed_seconds"))
    assert report["png"]["ratio"] > 1 and report["zlib_6"]["ratio"] > 1  # a photo compresses, unlike noise
    links = report["both_ways_on_a_link"]
    assert links["20_mbit"]["raw_seconds"] == 2 * 0.48e6 * 8 / 20e6
