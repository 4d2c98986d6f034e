"""Name, title and text pools for the synthetic tenant: deliberately not all ASCII."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

GIVEN_NAMES = (
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Marie",
    "Felix",
    "Léa",
    "José",
    "Zoë",
    "Øystein",
    "Søren",
    "Małgorzata",
    "Ayşe",
    "芳",
    "Chloé",
    "Björn",
    "Inês",
    "Mateo",
    "Aiko",
    "Omar",
    "Fatima",
    "Priya",
    "Noah",
    "Emma",
    "Jürgen",
    "Renée",
    "Thảo",
    "Siobhán",
)
FAMILY_NAMES = (
    "Müller",
    "Schmidt",
    "Øster",
    "García",
    "Núñez",
    "Weiß",
    "Dvořák",
    "Kowalski",
    "Öztürk",
    "王",
    "O'Brien",
    "van der Berg",
    "Nguyễn",
    "Schäfer",
    "Fischer",
    "Becker",
    "Łukasiewicz",
    "Smith",
    "Rossi",
    "Andersson",
    "Kim",
    "Haddad",
)
TIMEZONES = (
    "Europe/Berlin",
    "Europe/Berlin",
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/London",
    "America/New_York",
    "Asia/Shanghai",
    "UTC",
)
LANGUAGES = ("de", "de", "en", "en", "fr", "es")
TITLES = ("Account Executive", "Berater", "Customer Success", "Recruiter", "Meeting Room", None)
MEETING_TYPE_NAMES = (
    "Erstgespräch",
    "Produktdemo",
    "Beratung",
    "Onboarding",
    "Sprechstunde",
    "Follow-up",
    "Bewerbungsgespräch",
    "Quick Call",
)
GROUP_MEETING_TYPE_NAMES = ("Team-Workshop", "Webinar", "Info-Session", "Schulung")
CHANNELS = ("zoom", "zoom", "google", "google", "teams", "phone", "local", "custom")
CANCEL_REASONS = (
    "Terminkonflikt",
    "Krank",
    "No longer needed",
    "Rescheduled elsewhere",
    None,
    None,
)
NOTES = ("", "Bitte Rückruf vorher", "Interested in the enterprise plan 🚀", None, None, None)
OFFSET_MINUTES = (0, 0, 0, 0, 0, 0, 60, 120, -300, -240, 330, 480)
CUSTOM_FIELD_SOURCES = ("website", "linkedin", "partner", "messe")


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII rendering of a name for e-mails and slugs ("" if nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    kept = decomposed.replace("ß", "ss").replace("ł", "l").replace("Ł", "L")
    ascii_only = kept.encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_only.lower() if ch.isalnum())
