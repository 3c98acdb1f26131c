"""The public brochure viewer `GET /s/{code}`: the shared version's pages, the product's name and
risk level (never the talk track: that is for RMs) and a "contact me" button.

Showing the page records nothing: a HEAD, a prefetch, a link-preview fetch of the HTML or of its
images count nothing. Only the page's own script does, with beacons (`POST /t`) once the page is
visibly rendered. Whether the brochure is live is checked on every request (the page is never
cached), so an unpublished or expired brochure stops at once behind every link already shared.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from html import escape

from litestar import Response
from litestar.enums import MediaType

from workbench.db import Connection
from workbench.media import service as media
from workbench.public.pages import SECURITY_HEADERS
from workbench.tracking import queries

RISK_WORDS = {1: "低风险", 2: "中低风险", 3: "中风险", 4: "中高风险", 5: "高风险"}
# Images and beacons from this origin only; the one script under a nonce.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'; script-src 'nonce-{nonce}'"
)


class Found(Enum):
    LIVE = "live"
    GONE = "gone"  # unpublished or past its window
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ShownPage:
    number: int
    jpeg: str | None
    webp: str | None
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Shown:
    code: str
    title: str
    product_name: str
    risk_level: int
    rm_name: str
    pages: list[ShownPage]


async def find(
    conn: Connection, code: str, *, now: datetime, sign: Callable[[str], str]
) -> tuple[Found, Shown | None]:
    """The share behind `code` as the viewer shows it, if its brochure is live now."""
    row = await queries.viewer_share(conn, code, now=now)
    if row is None:
        return Found.UNKNOWN, None
    if not row["live"]:
        return Found.GONE, None
    images = [bytes(p) for p in row["pages"]]
    shown = await media.shown_renditions(conn, list(set(images)), sign)
    pages = []
    for number, image in enumerate(images, start=1):
        phone = shown.get(image, {}).get("phone")
        pages.append(
            ShownPage(number=number, jpeg=phone.jpeg if phone else None,
                      webp=phone.webp if phone else None,
                      width=phone.width if phone else 750, height=phone.height if phone else 1000)
        )  # fmt: skip
    return Found.LIVE, Shown(
        code=code,
        title=row["title"],
        product_name=row["product_name"],
        risk_level=row["risk_level"],
        rm_name=row["rm_name"],
        pages=pages,
    )


def render(shown: Shown, *, bank: str, base_url: str) -> Response[str]:
    """The viewer page, with link-preview meta (og:title, og:image of the first page)."""
    nonce = secrets.token_urlsafe(16)
    first = shown.pages[0].jpeg if shown.pages else None
    og_image = (
        f'<meta property="og:image" content="{escape(base_url.rstrip("/") + first)}">'
        if first
        else ""
    )
    pages = "".join(_page_html(p) for p in shown.pages)
    risk = RISK_WORDS.get(shown.risk_level, "")
    body = (
        f'<section class="facts"><h1>{escape(shown.title)}</h1>'
        f"<p>产品：{escape(shown.product_name)}</p>"
        f'<p>风险等级：<span class="risk">R{shown.risk_level} {risk}</span></p>'
        f"<p>您的客户经理：{escape(shown.rm_name)}</p></section>"
        f'<div class="pages">{pages}</div>'
        '<div class="cta"><button id="cta" type="button">我有兴趣，请联系我</button>'
        '<p id="done" class="done" hidden>已通知您的客户经理</p></div>'
        '<p class="note">本页面仅供参考，不构成投资建议。理财非存款，产品有风险，投资须谨慎。</p>'
    )
    html = _PAGE.format(
        title=escape(shown.title),
        bank=escape(bank.strip()),
        og_image=og_image,
        body=body,
        nonce=nonce,
        script=_SCRIPT.replace("__CODE__", json.dumps(shown.code)),
    )
    headers = dict(SECURITY_HEADERS) | {
        "Content-Security-Policy": _CSP.format(nonce=nonce),
        "X-Robots-Tag": "noindex, nofollow",
        "Cache-Control": "no-store",
    }
    return Response(html, status_code=200, media_type=MediaType.HTML, headers=headers)


def _page_html(page: ShownPage) -> str:
    size = f'width="{page.width}" height="{page.height}"'
    alt = f"第 {page.number} 页"
    if page.jpeg is None:
        return f'<div class="page missing" data-page="{page.number}">{alt}：图片准备中</div>'
    loading = "eager" if page.number == 1 else "lazy"
    source = f'<source type="image/webp" srcset="{escape(page.webp)}">' if page.webp else ""
    return (
        f'<picture>{source}<img class="page" data-page="{page.number}" src="{escape(page.jpeg)}"'
        f' {size} loading="{loading}" decoding="async" alt="{alt}"></picture>'
    )


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{title} - {bank}</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{bank}">
{og_image}
<style>
body{{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f5f6f8;color:#222;overflow-wrap:anywhere}}
header{{background:#c8102e;color:#fff;font-size:1.05rem;font-weight:600;padding:.8rem 1.25rem}}
main{{max-width:40rem;margin:0 auto;padding:0 0 6rem}}
.facts{{background:#fff;padding:1rem 1.25rem;margin-bottom:.5rem}}
h1{{font-size:1.25rem;margin:.2rem 0 .6rem}}
.facts p{{margin:.3rem 0;color:#444}}
.risk{{font-weight:600;color:#c8102e}}
.pages img{{display:block;width:100%;height:auto;background:#e8eaee}}
.missing{{padding:3rem 1rem;text-align:center;color:#888;background:#e8eaee;margin:.25rem 0}}
.cta{{position:fixed;left:0;right:0;bottom:0;background:#fff;padding:.75rem 1rem;
padding-bottom:calc(.75rem + env(safe-area-inset-bottom, 0px));
box-shadow:0 -1px 4px #0002;text-align:center}}
.cta button{{width:100%;max-width:28rem;padding:.85rem;font-size:1.05rem;line-height:1.4;
border:0;border-radius:8px;background:#c8102e;color:#fff}}
.done{{margin:0;padding:.85rem 0;font-size:1.05rem;line-height:1.4;color:#1a7f37;
font-weight:600}}
.note{{color:#888;font-size:.8rem;padding:1rem 1.25rem}}
</style>
</head>
<body><header>{bank}</header><main>{body}</main>
<script nonce="{nonce}">{script}</script>
</body>
</html>"""

# Plain ES5 for old in-app browsers; no cookie is needed to view, the visitor id is ours alone.
_SCRIPT = r"""(function(){
var code=__CODE__,url='/t',opened=false,since=null,acc=0,seen={},cta=false;
function hex(n){var a=new Uint8Array(n),s='',i;(window.crypto||window.msCrypto).getRandomValues(a);
for(i=0;i<n;i++){s+=('0'+a[i].toString(16)).slice(-2);}return s;}
function uuid(){if(window.crypto&&crypto.randomUUID){return crypto.randomUUID();}var h=hex(16);
return h.slice(0,8)+'-'+h.slice(8,12)+'-4'+h.slice(13,16)+'-'+
((parseInt(h.charAt(16),16)&3)|8).toString(16)+h.slice(17,20)+'-'+h.slice(20,32);}
function visitor(){var ok=/^[A-Za-z0-9_-]{1,64}$/,v=null,m;
try{v=localStorage.getItem('wb_vid');}catch(e){}
if(!v||!ok.test(v)){m=document.cookie.match(/(?:^|; )wb_vid=([A-Za-z0-9_-]{1,64})/);v=m?m[1]:null;}
if(!v||!ok.test(v)){v=hex(16);}
try{localStorage.setItem('wb_vid',v);}catch(e){}
document.cookie='wb_vid='+v+'; Max-Age=31536000; Path=/; SameSite=Lax'+
(location.protocol==='https:'?'; Secure':'');return v;}
var vid=visitor();
function post(body,tries){fetch(url,{method:'POST',body:body,keepalive:true,credentials:'omit',
headers:{'Content-Type':'text/plain;charset=UTF-8'}}).then(function(r){
if(r.status>=500&&tries<3){setTimeout(function(){post(body,tries+1);},2000*(tries+1));}
})['catch'](function(){if(tries<3){setTimeout(function(){post(body,tries+1);},2000*(tries+1));}});}
function send(type,extra){var b={code:code,visitor_id:vid,type:type,event_id:uuid()},k,data;
for(k in extra){b[k]=extra[k];}data=JSON.stringify(b);
if(navigator.sendBeacon){try{if(navigator.sendBeacon(url,data)){return;}}catch(e){}}
if(window.fetch){post(data,0);}}
function visible(){return document.visibilityState==='visible';}
function beat(){var now=Date.now(),ms;if(since!==null){acc+=now-since;since=visible()?now:null;}
ms=Math.min(Math.round(acc),60000);if(opened&&ms>0){acc=0;send('heartbeat',{ms:ms});}}
function shown(){if(!visible()){return;}if(!opened){opened=true;send('open',{});watch();}
if(since===null){since=Date.now();}}
document.addEventListener('visibilitychange',function(){if(visible()){shown();}else{beat();}});
window.addEventListener('pagehide',beat);
setInterval(function(){if(visible()){beat();}},5000);
function watch(){var imgs=document.querySelectorAll('[data-page]'),i;
if(!window.IntersectionObserver){return;}
var io=new IntersectionObserver(function(es){es.forEach(function(e){
var p=+e.target.getAttribute('data-page');
if(e.isIntersecting&&opened&&!seen[p]){seen[p]=true;send('page_view',{page:p});}});},{threshold:0.5});
for(i=0;i<imgs.length;i++){io.observe(imgs[i]);}}
if(document.readyState==='complete'){shown();}else{window.addEventListener('load',shown);}
document.getElementById('cta').addEventListener('click',function(){if(cta){return;}cta=true;
beat();send('cta',{});this.disabled=true;this.hidden=true;document.getElementById('done').hidden=false;});
})();"""
