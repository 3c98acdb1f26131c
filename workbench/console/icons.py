"""Line icons for console pages (24×24, stroked in the current colour): `{{ icon("home") }}`."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

ICONS = {
    "home": '<path d="M3 10.5 12 3l9 7.5"/><path d="M5 9.5V20h5v-6h4v6h5V9.5"/>',
    "brochure": '<path d="M6 3h9l4 4v14H6z"/><path d="M14 3v5h5"/><path d="M9 12.5h7M9 16.5h5"/>',
    "funnel": '<path d="M3.5 4.5h17l-6.5 7.8v5.7l-4 2v-7.7z"/>',
    "survey": '<rect x="5" y="4" width="14" height="17" rx="2"/><path d="M9 4V2.8h6V4"/>'
    '<path d="m9 13 2 2 4-4.2"/>',
    "team": '<circle cx="9" cy="8" r="3.2"/><path d="M3.5 20c.6-3.4 2.8-5 5.5-5s4.9 1.6 5.5 5"/>'
    '<circle cx="17" cy="9" r="2.5"/><path d="M16.2 14.2c2.3.2 3.8 1.7 4.3 4.3"/>',
    "device": '<rect x="5.5" y="2.5" width="13" height="19" rx="2.5"/><path d="M11 18.2h2"/>',
    "settings": '<path d="M4 7h10M18 7h2M4 17h4M12 17h8"/><circle cx="16" cy="7" r="2"/>'
    '<circle cx="10" cy="17" r="2"/>',
    "arrow": '<path d="M5 12h14M13 6l6 6-6 6"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3.2 2"/>',
    "sign-out": '<path d="M14 4h3.5A2.5 2.5 0 0 1 20 6.5v11a2.5 2.5 0 0 1-2.5 2.5H14"/>'
    '<path d="M9.5 8 5.5 12l4 4M5.5 12H15"/>',
    "shield": '<path d="M12 3 5 6v5.2c0 4.4 2.9 8 7 9.8 4.1-1.8 7-5.4 7-9.8V6z"/>'
    '<path d="m9 12 2.2 2.2L15.5 10"/>',
    "alert": '<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5.5M12 16.4v.1"/>',
    "info": '<circle cx="12" cy="12" r="9"/><path d="M12 11v5.5M12 7.6v.1"/>',
    "check": '<circle cx="12" cy="12" r="9"/><path d="m8.2 12.2 2.6 2.6 5-5.3"/>',
    "phone": '<rect x="7" y="2.5" width="10" height="19" rx="2.2"/><path d="M11 18.3h2"/>',
}


def icon(name: str, label: str | None = None) -> Markup:
    """An inline SVG icon; decorative unless it has a `label` (then read out)."""
    paths = ICONS[name]  # an unknown name fails the page (and its test) at once
    a11y = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true"'
    return Markup(  # noqa: S704 - our own constant paths; the label is escaped
        '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" '
        'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" '
        f'stroke-linejoin="round" focusable="false" {a11y}>{paths}</svg>'
    )
