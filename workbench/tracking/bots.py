"""Which beacons were sent by people: a verdict ('human' or 'bot') and a short reason, per hit.

Hits are labelled, never thrown away: a newer rule list re-classifies the raw hits later
(`workbench tracking reclassify`). The rules, in order:

1. `rate`: the beacon came over the per-visitor or per-IP limit (flagged at the door, in Redis);
2. no user agent at all;
3. headless browsers and automation (HeadlessChrome, PhantomJS, Puppeteer, Playwright, Selenium);
4. link-preview fetchers of chat apps (WeChat, DingTalk, Feishu/Lark, Slack, Telegram, Twitter,
   Facebook and iMessage, WhatsApp, Discord, Skype) and mail link scanners (SafeLinks, Barracuda,
   Mimecast, Proofpoint, ...): named by the product, so the admin page says whose preview it was;
5. in-app browsers of real people count, whatever the list below says: WeChat (MicroMessenger),
   Alipay (AlipayClient), DingTalk's browser (`DingTalk/` in a Mobile Safari/Chrome UA, unlike its
   `DingTalkBot` preview fetcher), QQ, Weibo;
6. the maintained list of known crawlers (the `crawler-user-agents` package), by its pattern.

Everything else is human.
"""

from __future__ import annotations

import functools
import re
from typing import Literal, NamedTuple

import crawleruseragents

Verdict = Literal["human", "bot"]
RATE = "rate"
NO_USER_AGENT = "no user agent"
HEADLESS = "headless"
LINK_PREVIEW, MAIL_SCANNER, CRAWLER_LIST = "link preview: ", "mail scanner: ", "crawler list: "
# How the console names a reason (stored reasons stay in English: they are matched and
# re-classified by program); a reason of a product names it after the label.
REASON_LABELS = {RATE: "频率超限", NO_USER_AGENT: "没有 User-Agent", HEADLESS: "无头浏览器"}
KIND_LABELS = {LINK_PREVIEW: "链接预览：", MAIL_SCANNER: "邮件扫描：", CRAWLER_LIST: "爬虫名单："}
MAX_REASON = 200


class Label(NamedTuple):
    verdict: Verdict
    reason: str


HUMAN = Label("human", "")

_HEADLESS = re.compile(r"HeadlessChrome|PhantomJS|Puppeteer|Playwright|Selenium|webdriver", re.I)
# (pattern, the product named in the reason), link previews first, then mail scanners.
_PREVIEWS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), name)
    for pattern, name in (
        # iMessage's preview fetcher names Facebook's and Twitter's together.
        (r"facebookexternalhit/1\.1 Facebot Twitterbot/1\.0", "iMessage"),
        (r"WeChat-?(Spider|Bot|LinkPreview)|WeChatShareExtension|WXWorkBot", "WeChat"),
        (r"DingTalkBot|DingTalk-?LinkService", "DingTalk"),
        (r"LarkUrl2Card|Feishu-?Bot|Lark-?Bot|Bytespider", "Feishu/Lark"),
        (r"Slackbot|Slack-ImgProxy", "Slackbot"),
        (r"TelegramBot", "TelegramBot"),
        (r"Twitterbot", "Twitterbot"),
        (r"facebookexternalhit|Facebot", "facebookexternalhit"),
        (r"WhatsApp/", "WhatsApp"),
        (r"Discordbot", "Discordbot"),
        (r"SkypeUriPreview", "SkypeUriPreview"),
        (r"Applebot|com\.apple\.(?:messages|MobileSMS)|LinkPresentation", "iMessage"),
        (r"LinkedInBot|Pinterestbot|redditbot|Embedly|vkShare|Iframely", "link preview"),
    )
)
_MAIL_SCANNERS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), name)
    for pattern, name in (
        (r"SafeLinks|Microsoft Office Existence Discovery|BingPreview|ms-office", "Outlook"),
        (r"Barracuda", "Barracuda"),
        (r"Mimecast", "Mimecast"),
        (r"Proofpoint|URLDefense", "Proofpoint"),
        (r"MailScanner|Trend ?Micro|Symantec|Forcepoint|Sophos|ZScaler", "mail scanner"),
    )
)
# In-app browsers of people: a browser engine and the app's own marker.
_IN_APP = re.compile(
    r"MicroMessenger/|AlipayClient/|\bQQ/|MQQBrowser/|\bWeibo\b|__weibo__|wxwork/"
    r"|(?=.*\bDingTalk/)(?=.*(?:Mobile Safari|Mobile/|Chrome/))"
)
_BROWSER = re.compile(r"Mozilla/5\.0 \(")


def reason_label(reason: str) -> str:
    """A stored reason as the console shows it ("link preview: WeChat" -> "链接预览：WeChat")."""
    if label := REASON_LABELS.get(reason):
        return label
    for kind, label in KIND_LABELS.items():
        if reason.startswith(kind):
            return label + reason.removeprefix(kind)
    return reason


@functools.lru_cache(maxsize=4096)
def verdict(user_agent: str, limited: bool = False) -> Label:
    """The verdict and reason of one hit by its user agent and the door's rate flag."""
    if limited:
        return Label("bot", RATE)
    ua = user_agent.strip()
    if not ua:
        return Label("bot", NO_USER_AGENT)
    if _HEADLESS.search(ua):
        return Label("bot", HEADLESS)
    for pattern, name in _PREVIEWS:
        if pattern.search(ua):
            return Label("bot", f"{LINK_PREVIEW}{name}")
    for pattern, name in _MAIL_SCANNERS:
        if pattern.search(ua):
            return Label("bot", f"{MAIL_SCANNER}{name}")
    if _IN_APP.search(ua) and _BROWSER.match(ua):
        return HUMAN
    if crawler := known_crawler(ua):
        return Label("bot", f"{CRAWLER_LIST}{crawler}"[:MAX_REASON])
    return HUMAN


def known_crawler(user_agent: str) -> str | None:
    """The first pattern of the crawler list that matches, made readable (`Googlebot`)."""
    if not crawleruseragents.is_crawler(user_agent):
        return None
    for pattern, compiled in _crawler_patterns():
        if compiled.search(user_agent):
            return _readable(pattern)
    return None


@functools.cache
def _crawler_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (item["pattern"], re.compile(item["pattern"]))
        for item in crawleruseragents.CRAWLER_USER_AGENTS_DATA
    )


def _readable(pattern: str) -> str:
    """`Googlebot\\/` -> `Googlebot`, `^curl` -> `curl`: the list's pattern without its regex."""
    text = re.sub(r"\\(.)", r"\1", pattern)
    text = re.sub(r"[\^\$\[\]\(\)\?\*\+\|]", "", text).strip(" /.-")
    return text or pattern
