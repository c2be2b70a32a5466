"""CLI commands for team mode's sign-ins: `annotators add|list|remove|reset-key|sso-check`.

A key is printed once, when it is made; the judgment store keeps only its salted hash.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ranklens.cli.common import print_json
from ranklens.errors import InputError
from ranklens.judging import JudgmentStore, identity
from ranklens.judging import annotators as accounts


def _key_message(name: str, key: str, admin: bool) -> str:
    role = "admin" if admin else "annotator"
    return (
        f"{role} {name}: key {key}\n"
        "Give this key to them now: it is shown only once (only a salted hash is stored). "
        f"'python -m ranklens annotators reset-key {name}' makes a new one."
    )


def cmd_add(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        who, key = accounts.add(store, args.name, admin=args.admin)
    if args.json:
        print_json({"name": who.name, "admin": who.admin, "key": key})
    else:
        print(_key_message(who.name, key, who.admin))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        rows = accounts.list_all(store)
    if args.json:
        print_json([a._asdict() for a in rows])
    elif not rows:
        print("nobody can sign in yet: python -m ranklens annotators add NAME --admin")
    else:
        for a in rows:
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.key_set_at))
            print(f"{a.name:<30} {'admin' if a.admin else 'annotator':<9}  key set {since}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        accounts.remove(store, args.name)
    print(f"{args.name.strip()} can no longer sign in; their labels stay")
    return 0


def cmd_reset_key(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        key = accounts.reset_key(store, args.name)
        who = accounts.get(store, args.name)
    assert who is not None
    if args.json:
        print_json({"name": who.name, "admin": who.admin, "key": key})
    else:
        print(_key_message(who.name, key, who.admin) + "\nThe old key no longer works.")
    return 0


def _claims(text: str) -> dict:
    """Claims given inline as a JSON object, or in a JSON file."""
    source, raw = "claims", text
    if not text.lstrip().startswith(("{", "[")):
        source, raw = text, Path(text).read_text(encoding="utf-8")
    try:
        claims = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"not JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(claims, dict):
        raise InputError(source, "expected a JSON object of ID-token claims")
    return claims


def cmd_sso_check(args: argparse.Namespace) -> int:
    """Who a provider's user (their ID-token claims) signs in as under this server's
    RANKLENS_SSO_* settings, with the same rules as the sign-in page (all but the age check)."""
    claims = _claims(args.claims)
    settings = identity.sso_settings()._replace(max_age_s=0)  # rules, not a sign-in's age
    try:
        with JudgmentStore.from_settings() as store:
            who = identity.sign_in(store, claims, settings)
    except identity.SignInRefused as exc:
        if args.json:
            print_json({"allowed": False, "reason": str(exc)})
        else:
            print(f"refused: {exc}")
        return 1
    if args.json:
        print_json({"allowed": True, "name": who.name, "admin": who.admin})
    else:
        print(f"{who.name}: {'admin' if who.admin else 'annotator'}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `annotators add|list|remove|reset-key` to the CLI's subparsers."""
    group = sub.add_parser("annotators", help="who may sign in to the app in team mode")
    cmds = group.add_subparsers(dest="annotators_command", required=True, metavar="COMMAND")

    p = cmds.add_parser("add", help="let NAME sign in; prints their key once")
    p.add_argument("name")
    p.add_argument("--admin", action="store_true", help="may change scales, adjudicate, import")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)

    p = cmds.add_parser("list", help="who can sign in")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("remove", help="take away NAME's sign-in (their labels stay)")
    p.add_argument("name")
    p.set_defaults(func=cmd_remove)

    p = cmds.add_parser("reset-key", help="a new key for NAME; the old one stops working")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reset_key)

    p = cmds.add_parser(
        "sso-check",
        help="who a single sign-on user (ID-token claims) signs in as, under RANKLENS_SSO_*",
    )
    p.add_argument("claims", help='a JSON object (\'{"sub": "...", "email": "..."}\') or a file')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sso_check)
