"""A real IMAP server for the tests: Debian's dovecot with a configuration of its own in a temporary folder.

It runs as the current user on a free loopback port, with one mailbox user in a passwd-file of its own and
plaintext login allowed (loopback only). Mail is put in it with IMAP APPEND, as a delivering MTA would.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "annual-report", "loopback-only-secret"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{mechanisms}
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
{oauth2}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
service auth {{
  user = {auth}
}}
service auth-worker {{
  user = {auth}
}}
"""


# With an introspection URL, tokens are checked first by dovecot's oauth2 passdb (XOAUTH2 and OAUTHBEARER only,
# so a password login still reaches the passwd-file below it).
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    def __init__(self, root: Path, oauth2_url: str | None = None) -> None:
        """`oauth2_url`: a token introspection endpoint; given, the server also accepts XOAUTH2 logins it vouches
        for."""
        self.root = root
        self.oauth2_url = oauth2_url
        self.host, self.port = "127.0.0.1", free_port()
        self.user, self.password = USER, PASSWORD
        self.config = root / "dovecot.conf"

    def __enter__(self) -> Dovecot:
        if not shutil.which(DOVECOT):
            raise RuntimeError("dovecot is not installed: run `make test` (it installs Debian's dovecot-imapd)")
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = os.getuid(), os.getgid()
        user = pwd.getpwuid(uid).pw_name
        # Dovecot refuses to run its login processes as root: as root (a container), they run as Debian's own
        # unprivileged users, which must then be able to read the folder; as anyone else, as that user.
        login, internal = ("dovenull", "dovecot") if uid == 0 else (user, user)
        self.root.chmod(0o755)
        if uid == 0:  # nor does it read mail as root: the mailbox belongs to its own user
            uid, gid = pwd.getpwnam(internal).pw_uid, pwd.getpwnam(internal).pw_gid
            for sub in ("mail", "home"):
                os.chown(self.root / sub, uid, gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        if self.oauth2_url:
            (self.root / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(url=self.oauth2_url))
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                internal=internal,
                login=login,
                auth=user,
                group=grp.getgrgid(gid).gr_name,
                uid=uid,
                gid=gid,
                port=self.port,
                mechanisms=" xoauth2 oauthbearer" if self.oauth2_url else "",
                oauth2=OAUTH2_PASSDB.format(root=self.root) if self.oauth2_url else "",
            )
        )
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        # Its output to a file, not a pipe: the daemon's children keep a pipe open and run() would wait forever.
        with open(self.root / "start.log", "ab") as log:
            subprocess.run([DOVECOT, "-c", str(self.config)], check=True, stdout=log, stderr=log, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on {self.port}: see {self.root / 'dovecot.log'}")

    def running(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start_if_stopped(self) -> None:
        if not self.running():
            self.start()

    def empty(self) -> None:
        """Every folder emptied (a test's mailbox starts with nothing in it)."""
        with self.client() as c:
            for _flags, _delim, name in c.list_folders():
                c.select_folder(name)
                uids = c.search(["ALL"])
                if uids:
                    c.delete_messages(uids)
                    c.expunge()

    def uids(self, folder: str) -> list[int]:
        with self.client() as c:
            if not c.folder_exists(folder):
                return []
            c.select_folder(folder, readonly=True)
            return sorted(c.search(["ALL"]))

    def stop(self) -> None:
        subprocess.run(
            [DOVECOT, "-c", str(self.config), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=5)
        c.login(self.user, self.password)
        return c

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox as an MTA would (IMAP APPEND)."""
        with self.client() as c:
            c.append(folder, raw)

    def count(self, folder: str) -> int:
        with self.client() as c:
            if not c.folder_exists(folder):
                return 0
            return int(c.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
