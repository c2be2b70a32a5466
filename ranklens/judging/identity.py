"""Single sign-on rules: which annotator an OpenID Connect user becomes, whether they are an admin,
and whether they may sign in at all (RANKLENS_SSO_* settings; the page side is components/sso.py).

The provider proves who the user is; these rules decide what that means in RankLens. They see only
the claims of the user's ID token (sub, email, preferred_username, a group claim, iat).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from ranklens.errors import RankLensError
from ranklens.judging.annotators import Annotator, get
from ranklens.judging.rules import check_name
from ranklens.schema import Database

NAME_CLAIMS = ("sub", "email", "preferred_username")
DEFAULT_NAME_CLAIMS = ("email",)
DEFAULT_GROUPS_CLAIM = "groups"
DEFAULT_MAX_AGE_H = 12.0


class SignInRefused(RankLensError):
    """A provider's user who may not use this RankLens; the message says why, for the user."""


class SsoSettings(NamedTuple):
    """How provider users map to annotators (see sso_settings for the variables)."""

    name_claims: tuple[str, ...] = DEFAULT_NAME_CLAIMS
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    admins: frozenset[str] = frozenset()
    admin_groups: frozenset[str] = frozenset()
    allowed: frozenset[str] = frozenset()
    allowed_groups: frozenset[str] = frozenset()
    max_age_s: float = DEFAULT_MAX_AGE_H * 3600


def _entries(value: str | None) -> frozenset[str]:
    """A comma- or whitespace-separated list, emails and @domains case-folded."""
    items = (x.strip() for x in (value or "").replace(",", " ").split())
    return frozenset(_fold(x) for x in items if x)


def _fold(entry: str) -> str:
    return entry.casefold() if "@" in entry else entry


def sso_settings(env: Mapping[str, str] | None = None) -> SsoSettings:
    """Read the single sign-on rules from the environment (or the mapping given):

    - RANKLENS_SSO_NAME_CLAIM: the claim(s) that name the annotator, first present wins, of
      sub, email, preferred_username (default: email);
    - RANKLENS_SSO_ADMINS: users who are admins (names, emails, subs; @domain for a whole domain);
    - RANKLENS_SSO_ADMIN_GROUPS: groups whose members are admins;
    - RANKLENS_SSO_GROUPS_CLAIM: the claim listing the user's groups (default: groups);
    - RANKLENS_SSO_ALLOW / RANKLENS_SSO_ALLOW_GROUPS: when either is set, only those users / group
      members (and admins) may sign in; unset, every user the provider signs in may;
    - RANKLENS_SSO_MAX_AGE_H: hours a provider sign-in lasts before the user signs in again
      (default 12; 0 keeps it as long as Streamlit's identity cookie, 30 days).
    """
    env = os.environ if env is None else env
    claims = tuple(
        c.strip()
        for c in (env.get("RANKLENS_SSO_NAME_CLAIM") or "").replace(",", " ").split()
        if c.strip()
    )
    for c in claims:
        if c not in NAME_CLAIMS:
            raise RankLensError(
                f"RANKLENS_SSO_NAME_CLAIM={c!r}: expected one or more of {', '.join(NAME_CLAIMS)}"
            )
    max_age = (env.get("RANKLENS_SSO_MAX_AGE_H") or "").strip()
    try:
        hours = float(max_age) if max_age else DEFAULT_MAX_AGE_H
    except ValueError:
        hours = -1.0
    if not hours >= 0:
        raise RankLensError(f"RANKLENS_SSO_MAX_AGE_H={max_age!r}: expected a number of hours >= 0")
    return SsoSettings(
        name_claims=claims or DEFAULT_NAME_CLAIMS,
        groups_claim=(env.get("RANKLENS_SSO_GROUPS_CLAIM") or "").strip() or DEFAULT_GROUPS_CLAIM,
        admins=_entries(env.get("RANKLENS_SSO_ADMINS")),
        admin_groups=frozenset(
            (env.get("RANKLENS_SSO_ADMIN_GROUPS") or "").replace(",", " ").split()
        ),
        allowed=_entries(env.get("RANKLENS_SSO_ALLOW")),
        allowed_groups=frozenset(
            (env.get("RANKLENS_SSO_ALLOW_GROUPS") or "").replace(",", " ").split()
        ),
        max_age_s=hours * 3600,
    )


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _email(claims: Mapping[str, Any]) -> str | None:
    """The email, unless the provider says it is not verified (then it proves nothing)."""
    if (
        claims.get("email_verified") is False
        or str(claims.get("email_verified")).lower() == "false"
    ):
        return None
    return _text(claims, "email")


def _groups(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return frozenset(value.replace(",", " ").split())
    if isinstance(value, list | tuple):
        return frozenset(str(g).strip() for g in value if str(g).strip())
    return frozenset()


def _matches(entries: frozenset[str], name: str, sub: str, email: str | None) -> bool:
    """Does a list of users name this one: by annotator name, sub, email or @email-domain?"""
    if not entries:
        return False
    if name in entries or _fold(name) in entries or sub in entries:
        return True
    if email:
        email = email.casefold()
        return email in entries or "@" + email.rpartition("@")[2] in entries
    return False


def annotator_for(
    claims: Mapping[str, Any], settings: SsoSettings, now: float | None = None
) -> Annotator:
    """The annotator a provider's user signs in as, with the admin role from the settings;
    SignInRefused (a message for the user) when they may not sign in."""
    sub = _text(claims, "sub")
    if not sub:
        raise SignInRefused("The identity provider sent no user id (sub claim); sign-in refused.")
    email = _email(claims)
    values = {"sub": sub, "email": email, "preferred_username": _text(claims, "preferred_username")}
    claim = next((c for c in settings.name_claims if values.get(c)), None)
    if claim is None:
        wanted = " or ".join(settings.name_claims)
        unverified = (
            " (the provider says the email is not verified)"
            if "email" in settings.name_claims and _text(claims, "email")
            else ""
        )
        raise SignInRefused(
            f"The identity provider sent no {wanted} for this user{unverified}, and RankLens names "
            "annotators by it; ask your admin (RANKLENS_SSO_NAME_CLAIM)."
        )
    try:
        name = check_name(str(values[claim]), "annotator")
    except RankLensError as exc:
        raise SignInRefused(f"Your {claim} cannot name an annotator: {exc}") from None
    groups = _groups(claims, settings.groups_claim)
    admin = _matches(settings.admins, name, sub, email) or bool(groups & settings.admin_groups)
    limited = bool(settings.allowed or settings.allowed_groups)
    if (
        limited
        and not admin
        and not (_matches(settings.allowed, name, sub, email) or groups & settings.allowed_groups)
    ):
        raise SignInRefused(
            f"{name} is signed in with the identity provider but is not allowed to use this "
            "RankLens. Ask an admin to add you (RANKLENS_SSO_ALLOW or RANKLENS_SSO_ALLOW_GROUPS), "
            "or sign out and use another account."
        )
    issued = claims.get("iat")
    issued = (
        float(issued) if isinstance(issued, int | float) and not isinstance(issued, bool) else 0.0
    )
    now = time.time() if now is None else now
    if settings.max_age_s and not issued:  # OpenID Connect requires it in every ID token
        raise SignInRefused(
            "The identity provider did not say when you signed in (iat claim), so the sign-in's "
            "age cannot be checked; ask your admin (RANKLENS_SSO_MAX_AGE_H=0 turns the check off)."
        )
    if settings.max_age_s and now - issued > settings.max_age_s:
        raise SignInRefused(
            f"Your single sign-on is older than {settings.max_age_s / 3600:g} h: sign out and "
            "sign in again."
        )
    return Annotator(name, admin, issued, issued)


def sign_in(
    store: Database, claims: Mapping[str, Any], settings: SsoSettings, now: float | None = None
) -> Annotator:
    """annotator_for, and refused when the name belongs to an annotator who signs in with a key
    (a provider account must not take over a key holder's labels; removing the key hands the
    name, and its labels, to single sign-on)."""
    who = annotator_for(claims, settings, now)
    if get(store, who.name) is not None:
        raise SignInRefused(
            f"The name {who.name} belongs to an annotator who signs in with a key. Sign in with "
            f"that key, or ask an admin to run `python -m ranklens annotators remove {who.name}` "
            "so that single sign-on takes the name (the labels stay)."
        )
    return who
