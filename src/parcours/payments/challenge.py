"""The test provider's 3-D Secure challenge: the page a bank would show, simulated.

The shopper lands here from ``next_action_url`` and approves or denies; the page posts the answer
with the payment's client secret, which proves it is the payer answering.
"""

from __future__ import annotations

import html
import json

from parcours.core.money import format_money
from parcours.payments.models import Payment, PaymentStatus

_PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authentification 3-D Secure (test)</title>
<link rel="stylesheet" href="/static/payments/challenge.css">
</head>
<body>
<h1>Authentification 3-D Secure</h1>
<p>Banque de test — aucun paiement réel.</p>
<p>Paiement de <strong>{amount}</strong> avec la carte {brand} se terminant par {last4}.</p>
<p id="status">{status}</p>
<div id="answers"{hidden}>
<button type="button" data-outcome="approve">Approuver</button>
<button type="button" data-outcome="deny">Refuser</button>
</div>
<script type="application/json" id="answer">{answer}</script>
<script type="module" src="/static/payments/challenge.js"></script>
</body>
</html>
"""

_STATUS = {
    PaymentStatus.REQUIRES_ACTION: "Confirmez-vous ce paiement ?",
    PaymentStatus.CAPTURED: "Paiement approuvé.",
    PaymentStatus.FAILED: "Paiement refusé.",
}


def render_challenge_page(payment: Payment, *, client_secret: str) -> str:
    """The page; every value is escaped (HTML) or JSON-encoded (script)."""
    status = PaymentStatus(payment.status)
    waiting = status is PaymentStatus.REQUIRES_ACTION
    answer = {"path": f"/v1/payments/{payment.id}/3ds", "secret": client_secret}
    return _PAGE.format(
        amount=html.escape(format_money(payment.amount, payment.currency)),
        brand=html.escape(payment.card_brand or "—"),
        last4=html.escape(payment.card_last4 or "—"),
        status=html.escape(_STATUS.get(status, "Ce paiement n'attend plus de réponse.")),
        hidden="" if waiting else " hidden",
        # Inside the <script> data block: JSON with "<" escaped, so no value can close it.
        answer=json.dumps(answer).replace("<", "\\u003c"),
    )
