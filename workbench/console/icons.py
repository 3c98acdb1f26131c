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
    "upload": '<path d="M12 15V4M7.5 8.5 12 4l4.5 4.5"/><path d="M4 15v3.5A1.5 1.5 0 0 0 5.5 20h13'
    'a1.5 1.5 0 0 0 1.5-1.5V15"/>',
    "download": '<path d="M12 4v11M7.5 10.5 12 15l4.5-4.5"/><path d="M4 15v3.5A1.5 1.5 0 0 0 5.5 '
    '20h13a1.5 1.5 0 0 0 1.5-1.5V15"/>',
    "image": '<rect x="3.5" y="4.5" width="17" height="15" rx="2"/><circle cx="9" cy="10" r="1.8"/>'
    '<path d="m4 18 5-5 3.5 3.5L15 14l5 4.5"/>',
    "trash": '<path d="M4.5 7h15M10 11v6M14 11v6"/><path d="M6.5 7l.8 12a1.5 1.5 0 0 0 1.5 1.4h6.4'
    'a1.5 1.5 0 0 0 1.5-1.4l.8-12M9.5 7V4.5h5V7"/>',
    "left": '<path d="M15 5.5 8.5 12l6.5 6.5"/>',
    "right": '<path d="m9 5.5 6.5 6.5L9 18.5"/>',
    "send": '<path d="M20.5 3.5 10 14M20.5 3.5 14 20.5l-4-6.5-6.5-4z"/>',
    "x": '<path d="M6 6l12 12M18 6 6 18"/>',
    "history": '<path d="M3.5 12a8.5 8.5 0 1 0 2.6-6.1"/><path d="M3.5 4.5v4h4"/>'
    '<path d="M12 8v4.2l3 1.8"/>',
    "calendar": '<rect x="3.5" y="5" width="17" height="15.5" rx="2"/>'
    '<path d="M3.5 10h17M8 3v4M16 3v4"/>',
    "edit": '<path d="M4 20h4L19 9l-4-4L4 16z"/><path d="m13.5 6.5 4 4"/>',
    "search": '<circle cx="10.5" cy="10.5" r="6"/><path d="m15 15 5 5"/>',
    "queue": '<path d="M8 6h12M8 12h12M8 18h12"/><path d="M4 6h.01M4 12h.01M4 18h.01"/>',
    "tag": '<path d="M3.5 12.2V4.5a1 1 0 0 1 1-1h7.7l8.3 8.3-8.7 8.7z"/>'
    '<circle cx="8" cy="8" r="1.5"/>',
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
