"""The pages a person sees while signing in to the stand-in.

Visio sends people to its identity provider (ProConnect) and back; the stand-in has
none, so ``authenticate/`` shows this form itself.  Labels are in French and English,
as the sign-in pages of Visio's audience are.
"""

from __future__ import annotations

from html import escape

__all__ = ["home_page", "login_form"]

_STYLE = (
    "body{font-family:sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}"
    "label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;box-sizing:border-box}"
    "button{margin-top:1.5rem;padding:.5rem 1.5rem}.error{color:#b00020}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="fr"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


def login_form(*, action: str, return_to: str, error: str = "", email: str = "") -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Connexion / Sign in",
        "<h1>Connexion / Sign in</h1>"
        f"{message}"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="returnTo" value="{escape(return_to)}">'
        '<label for="email">Adresse e-mail / Email</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" '
        f'value="{escape(email)}" required autofocus>'
        '<label for="password">Mot de passe / Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Se connecter / Sign in</button>'
        "</form>",
    )


def home_page(*, signed_in_as: str | None) -> str:
    who = (
        f"<p>Connecté·e en tant que / Signed in as {escape(signed_in_as)}</p>"
        if signed_in_as
        else "<p>Non connecté·e / Not signed in</p>"
    )
    return _page("Visio", f"<h1>Visio</h1>{who}")
