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
# How people book each kind of meeting: (median lead time in days, share cancelled, share
# rescheduled). Quick calls are booked for tomorrow and rarely dropped; webinars weeks ahead
# and often skipped.
MEETING_TYPE_HABITS: dict[str, tuple[float, float, float]] = {
    "Erstgespräch": (4.0, 0.14, 0.08),
    "Produktdemo": (6.0, 0.12, 0.10),
    "Beratung": (3.0, 0.10, 0.09),
    "Onboarding": (10.0, 0.06, 0.12),
    "Sprechstunde": (1.5, 0.09, 0.04),
    "Follow-up": (8.0, 0.07, 0.10),
    "Bewerbungsgespräch": (5.0, 0.15, 0.12),
    "Quick Call": (0.6, 0.05, 0.03),
    "Team-Workshop": (14.0, 0.10, 0.06),
    "Webinar": (21.0, 0.22, 0.02),
    "Info-Session": (9.0, 0.18, 0.03),
    "Schulung": (25.0, 0.09, 0.05),
}
DEFAULT_HABITS = (5.0, 0.12, 0.08)
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
API_NOTES = ("Lead aus dem Kundenportal", "Auto-booked after signup", "Ticket #4711", "")
CAMPAIGNS = ("spring-webinar", "messe-2025", "newsletter")


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII rendering of a name for e-mails and slugs ("" if nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    kept = decomposed.replace("ß", "ss").replace("ł", "l").replace("Ł", "L")
    ascii_only = kept.encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_only.lower() if ch.isalnum())
