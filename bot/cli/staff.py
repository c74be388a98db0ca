"""`python -m bot staff add|passwd|disable|enable|list`: manage console accounts from the shell.

A password is read from stdin with --password-stdin (never from the command line, where shell history
and `ps` would keep it), or generated and printed once on stdout. It is never logged.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli.base import Commands, upgrade_sqlite
from bot.config import Config
from bot.infra.db import Database
from bot.runtime import default_clock
from bot.services import staff

commands = Commands()

ACTOR = "cli"


def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="create an account (prints a generated password unless --password-stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=staff.ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    passwd = sub.add_parser("passwd", help="set a new password (generated unless --password-stdin)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    disable = sub.add_parser("disable", help="disable an account (its open sessions end)")
    disable.add_argument("username")
    enable = sub.add_parser("enable", help="enable a disabled account")
    enable.add_argument("username")
    sub.add_parser("list", help="list accounts")


def _password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    return sys.stdin.readline().rstrip("\r\n")


@commands.add("staff", "console accounts: `staff add NAME --role admin|reviewer|editor`, passwd, disable, enable, list",
              _args)
def staff_command(args: argparse.Namespace, config: Config) -> int:
    upgrade_sqlite(config)
    database = Database(config.database.url)
    now = default_clock(config).now()
    try:
        with database.transaction() as session:
            return _run(session, args, now)
    except staff.StaffError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        database.dispose()


def _run(session, args: argparse.Namespace, now) -> int:
    if args.action == "list":
        for user in staff.list_staff(session):
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "-"
            state = "disabled" if user.disabled else "active"
            sys.stdout.write(f"{user.username}\t{user.role}\t{state}\tlast login {last}\n")
        return 0
    if args.action == "add":
        _, password = staff.add(session, args.username, args.role, actor=ACTOR, now=now, password=_password(args))
        if not args.password_stdin:
            sys.stdout.write(f"created {args.username} ({args.role}), to be changed at first login; password: {password}\n")
        else:
            sys.stdout.write(f"created {args.username} ({args.role})\n")
        return 0
    user = staff.find(session, args.username)
    if user is None:
        raise staff.StaffError(f"no account named {args.username}")
    if args.action == "passwd":
        given = _password(args)
        password = staff.set_password(session, user, actor=ACTOR, now=now, password=given)
        handed_out = "" if given else f", to be changed at next login; new password: {password}"
        sys.stdout.write(f"password of {user.username} changed{handed_out}\n")
    else:
        staff.set_disabled(session, user, args.action == "disable", actor=ACTOR, now=now)
        sys.stdout.write(f"{user.username} {args.action}d\n")
    return 0
