"""The public brochure viewer `GET /s/{code}`: the pages of the brochure's version live now (the
shared version while it is live, the version that replaced it once that took over: customers
never see content compliance replaced, and an RM's links outlive a corrected typo), the
product's name and risk level (never the talk track: that is for RMs), the risk note of the
product's category and a "contact me" button.

Showing the page records nothing: a HEAD, a prefetch, a link-preview fetch of the HTML or of its
images count nothing. Only the page's own script does, with beacons (`POST /t`) once the page is
visibly rendered: painted in a visible tab (its title, risk level and RM's name), not once its
images have loaded, which on a slow network comes after the customer tapped the button, if
ever. No other beacon leaves before the open. Whether the brochure is live is checked on every
request (the page is never cached), so an unpublished or expired brochure stops at once behind
every link already shared; so does a share made for a customer the bank has closed since
(`queries.CUSTOMER_LEFT`), with the same page, saying nothing of why.

The button is a form (`POST /s/{code}/contact`) that the script takes over: with a script it
sends a `cta` beacon (by fetch) and says the RM was told only once `POST /t` answered 2xx; on a
failure (no signal, Redis down: 503) the button stays with a note to try again, and the tries
of one tap share an event id. Without a script the form posts and the server appends the same
beacons to the same stream (`contact_beacons`), then answers 303 to a result page that records
nothing (Post/Redirect/Get: going forward again or reloading posts nothing again). Page images
are signed for a short while; a page left open longer fetches fresh URLs (`GET /s/{code}/pages`,
as scoped as the page: the code, a live brochure) when an image fails, and tries once more; an
image that still fails says so ("图片加载失败，点击重试") and loads again on a tap.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from html import escape

from litestar import Response
from litestar.enums import MediaType

from mobile_contracts.v1.tracking import Beacon, BeaconType
from workbench.db import Connection
from workbench.media import service as media
from workbench.public.pages import SECURITY_HEADERS
from workbench.tracking import queries

RISK_WORDS = {1: "低风险", 2: "中低风险", 3: "中风险", 4: "中高风险", 5: "高风险"}
# The level's colour: calm for R1-R2, amber for R3, red for R4-R5 (each >= 4.5:1 on white).
RISK_TONES = {1: "low", 2: "low", 3: "mid", 4: "high", 5: "high"}
# The risk note under the pages, by the product's category (products.category): the one place
# it is worded. A deposit of a risk level above R1 is a structured deposit, not a plain one.
_WEALTH_NOTE = "理财非存款，产品有风险，投资须谨慎。"
RISK_NOTES = {
    "deposit": "存款产品受《存款保险条例》保护，以银行公告为准。",
    "insurance": "保险产品由保险公司承保，不是银行存款，以保险合同为准。",
    "wealth": _WEALTH_NOTE,
    "cash": _WEALTH_NOTE,
    "pension": _WEALTH_NOTE,
    "fund": _WEALTH_NOTE,
    "private": _WEALTH_NOTE,
    "precious_metal": "贵金属价格波动较大，投资有风险，须谨慎。",
}
STRUCTURED_DEPOSIT_NOTE = "结构性存款不同于一般性存款，具有投资风险，投资须谨慎。"
OTHER_NOTE = "产品有风险，投资须谨慎。"
# Images and beacons from this origin only; the one script under a nonce; the button's form
# posts to this origin.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src 'nonce-{nonce}'"
)
_EVENT_IDS = uuid.UUID("6f1d1c9e-3a52-4c1b-9d0e-5b7a4f2c8e11")  # uuid5 namespace (contact form)


def risk_note(category: str, risk_level: int) -> str:
    """What the page says under a product of this category and risk level."""
    if category == "deposit" and risk_level > 1:
        return STRUCTURED_DEPOSIT_NOTE
    return RISK_NOTES.get(category, OTHER_NOTE)


class Found(Enum):
    LIVE = "live"
    GONE = "gone"  # unpublished or past its window; or made for a customer the bank closed
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
    rm_name: str | None  # the RM the customer should turn to (`queries.RM_SHOWN`); None: no one
    pages: list[ShownPage]
    category: str = ""  # products.category: which risk note the page shows


@dataclass(frozen=True, slots=True)
class Looked:
    """What is behind a code: `shown` when live; `rm_name` (the RM the customer should turn to:
    their RM now, else the sharer, while active) when there is one."""

    found: Found
    shown: Shown | None = None
    rm_name: str | None = None


async def find(conn: Connection, code: str, *, now: datetime, sign: Callable[[str], str]) -> Looked:
    """The share behind `code` as the viewer shows it, if it is live now (its brochure live,
    its customer, if any, not closed since): the live version's title, pages and product
    (`queries.viewer_share`)."""
    row = await queries.viewer_share(conn, code, now=now)
    if row is None:
        return Looked(Found.UNKNOWN)
    if not row["live"]:
        return Looked(Found.GONE, rm_name=row["rm_name"])
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
    result = Shown(
        code=code,
        title=row["title"],
        product_name=row["product_name"],
        category=row["category"],
        risk_level=row["risk_level"],
        rm_name=row["rm_name"],
        pages=pages,
    )
    return Looked(Found.LIVE, result, rm_name=row["rm_name"])


def page_urls(shown: Shown) -> dict[str, list[dict[str, object]]]:
    """The pages' freshly signed URLs, for a page left open past their expiry."""
    return {
        "pages": [{"page": p.number, "jpeg": p.jpeg, "webp": p.webp} for p in shown.pages if p.jpeg]
    }


def contact_beacons(code: str, visitor_id: str) -> list[Beacon]:
    """What the contact form without a script records: the same `cta` beacon the script sends,
    and an `open` (a person pressed a button on the page: it was shown, and a page without a
    script sends no open, from which on a visitor's steps count). Their event ids follow from
    the share and the visitor, so a form posted twice is a retry and counts once."""
    return [
        Beacon(code=code, visitor_id=visitor_id, type=kind,
               event_id=uuid.uuid5(_EVENT_IDS, f"{code}:{visitor_id}:{kind.value}"))
        for kind in (BeaconType.OPEN, BeaconType.CTA)
    ]  # fmt: skip


def render(
    shown: Shown, *, bank: str, base_url: str, fixed_for_package: bool = False
) -> Response[str]:
    """The viewer page, with link-preview meta (og:title, og:image of the first page).

    Each answer has its own script nonce and form visitor id; `fixed_for_package`: neither (the
    offline package's shell is the same file at every build, so an unchanged build is no new
    version; in the app the script makes the visitor id and no CSP header reads the nonce)."""
    nonce = "h5-package" if fixed_for_package else secrets.token_urlsafe(16)
    form_visitor = "" if fixed_for_package else secrets.token_hex(16)
    first = shown.pages[0].jpeg if shown.pages else None
    og_image = (
        f'<meta property="og:image" content="{escape(base_url.rstrip("/") + first)}">'
        if first
        else ""
    )
    pages = "".join(_page_html(p) for p in shown.pages)
    risk = RISK_WORDS.get(shown.risk_level, "")
    tone = RISK_TONES.get(shown.risk_level, "high")
    # No active RM to name (the sharer and the customer's RM disabled): no line at all.
    who = f"<p>您的客户经理：{escape(shown.rm_name)}</p>" if shown.rm_name else ""
    body = (
        f'<section class="facts"><h1>{escape(shown.title)}</h1>'
        f"<p>产品：{escape(shown.product_name)}</p>"
        f'<p>风险等级：<span class="risk {tone}">R{shown.risk_level} {risk}</span></p>'
        f"{who}</section>"
        f'<div class="pages">{pages}</div>'
        # Without a script the form posts (the same click, recorded by the server); with one,
        # the script sends the beacon and the form never leaves.
        f'<form class="cta" id="cta-bar" method="post" action="/s/{escape(shown.code)}/contact">'
        f'<input type="hidden" name="v" value="{form_visitor}">'
        '<p id="oops" class="oops" role="alert" hidden></p>'
        '<button id="cta" type="submit">我有兴趣，请联系我</button>'
        '<p id="done" class="done" role="status" hidden></p></form>'
        '<p class="note">本页面仅供参考，不构成投资建议。'
        f"{escape(risk_note(shown.category, shown.risk_level))}</p>"
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
        # The address carries the share's code: no other site learns it. Our own site does, so
        # that the no-script form's post names its page (`Origin`) rather than `null`; a browser
        # that does not know `same-origin` (nor the meta's) keeps to `no-referrer`.
        "Referrer-Policy": "no-referrer, same-origin",
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
<meta name="referrer" content="same-origin">
<link rel="icon" href="/public/static/icon.svg" type="image/svg+xml">
<title>{title} - {bank}</title>
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{bank}">
{og_image}
<style>
body{{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;
background:#f5f6f8;color:#222;overflow-wrap:anywhere}}
header{{background:#c8102e;color:#fff;font-size:1.05rem;font-weight:600}}
header div{{max-width:40rem;margin:0 auto;padding:.8rem 1.25rem}}
main{{max-width:40rem;margin:0 auto}}
.facts{{background:#fff;padding:1rem 1.25rem;margin-bottom:.5rem}}
h1{{font-size:1.25rem;margin:.2rem 0 .6rem}}
.facts p{{margin:.3rem 0;color:#444}}
.risk{{font-weight:600}}
.risk.low{{color:#1a7f37}}
.risk.mid{{color:#9a5b00}}
.risk.high{{color:#c8102e}}
.pages img{{display:block;width:100%;height:auto;background:#e8eaee}}
.pages img.failed{{display:none}}
.missing{{padding:3rem 1rem;text-align:center;color:#555;background:#e8eaee;margin:.25rem 0}}
button.missing{{width:100%;border:0;font-family:inherit;font-size:1rem;line-height:1.4}}
.cta{{background:#fff;padding:.75rem 1rem;text-align:center;margin:.5rem 0 0}}
.cta button{{width:100%;max-width:28rem;padding:.85rem;font-size:1.05rem;line-height:1.4;
border:0;border-radius:8px;background:#c8102e;color:#fff}}
.cta button:disabled{{opacity:.6}}
.done{{margin:0;padding:.85rem 0;font-size:1rem;line-height:1.4;color:#1a7f37;
font-weight:600}}
.oops{{margin:0 0 .5rem;font-size:.95rem;line-height:1.4;color:#c8102e}}
.note{{color:#595959;font-size:.8rem;padding:1rem 1.25rem;margin:0}}
/* The button stays in view only where there is room for it (not in landscape on a phone, nor
   when the text is so large that the bar would cover the page; the script checks that too). */
@media (min-height:30em){{
main{{padding-bottom:6rem}}
.cta{{position:fixed;left:0;right:0;bottom:0;margin:0;
padding-bottom:calc(.75rem + env(safe-area-inset-bottom, 0px));box-shadow:0 -1px 4px #0002}}
html.flow main{{padding-bottom:0}}
html.flow .cta{{position:static;margin:.5rem 0 0;box-shadow:none}}
}}
</style>
</head>
<body><header><div>{bank}</div></header><main>{body}</main>
<script nonce="{nonce}">{script}</script>
</body>
</html>"""

# Plain ES5 for old in-app browsers; no cookie is needed to view, the visitor id is ours alone.
_SCRIPT = r"""(function(){
var code=__CODE__,url='/t',opened=false,held=[],painting=false,since=null,acc=0,seen={},cta=false;
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
// Nothing is sent before the open: a beacon of a page not yet shown waits behind it.
function send(type,extra){if(!opened){held.push(function(){send(type,extra);});return;}
var b={code:code,visitor_id:vid,type:type,event_id:uuid()},k,data;
for(k in extra){b[k]=extra[k];}data=JSON.stringify(b);
if(navigator.sendBeacon){try{if(navigator.sendBeacon(url,data)){return;}}catch(e){}}
if(window.fetch){post(data,0);}}
function visible(){return document.visibilityState==='visible';}
function beat(){var now=Date.now(),ms;if(since!==null){acc+=now-since;since=visible()?now:null;}
ms=Math.min(Math.round(acc),60000);if(opened&&ms>0){acc=0;send('heartbeat',{ms:ms});}}
// The open: once the page (title, risk level, the RM's name) was painted where the customer
// sees it, not when its images have loaded (on a slow network they come long after, if ever).
// A hidden page (prerendered, a background tab) opens when it is first shown; once a page view.
function opening(){var h=held,i;if(opened||!visible()){return;}opened=true;held=[];
send('open',{});watch();for(i=0;i<h.length;i++){h[i]();}}
function paint(){if(opened||painting){return;}painting=true;
var done=function(){painting=false;opening();};
if(window.requestAnimationFrame){requestAnimationFrame(function(){requestAnimationFrame(done);});}
else{setTimeout(done,0);}}
function shown(){if(!visible()){return;}paint();if(since===null){since=Date.now();}}
document.addEventListener('visibilitychange',function(){if(visible()){shown();}else{beat();}});
window.addEventListener('pagehide',beat);
setInterval(function(){if(visible()){beat();}},5000);
function watch(){var imgs=document.querySelectorAll('[data-page]'),i;
if(!window.IntersectionObserver){return;}
var io=new IntersectionObserver(function(es){es.forEach(function(e){
var p=+e.target.getAttribute('data-page');
if(e.isIntersecting&&opened&&!seen[p]){seen[p]=true;send('page_view',{page:p});}});},{threshold:0.5});
for(i=0;i<imgs.length;i++){io.observe(imgs[i]);}}
shown();window.addEventListener('load',function(){shown();opening();});
var bar=document.getElementById('cta-bar'),btn=document.getElementById('cta'),
note=document.getElementById('done'),oops=document.getElementById('oops'),asked='wb_cta:'+code,
ctaId=null,tries=0;
function said(text){btn.disabled=true;btn.hidden=true;oops.hidden=true;note.textContent=text;
note.hidden=false;}
function unsent(){btn.disabled=false;oops.textContent='网络不稳定，提交未成功，请重试。';
oops.hidden=false;fit();}
try{if(localStorage.getItem(asked)){cta=true;said('您已请客户经理联系您，请留意来电或消息');}}catch(e){}
// The button says the RM was told only once the server answered 2xx (the beacon is in the
// stream): a failure (no signal, 503) leaves the button and a note to try again; the retries of
// one tap share its event id (counted once). Without fetch the form posts (the server records).
bar.addEventListener('submit',function(ev){if(!window.fetch){return;}ev.preventDefault();
if(cta||btn.disabled){return;}btn.disabled=true;opening();beat();if(!ctaId){ctaId=uuid();}
var n=++tries,late=setTimeout(function(){if(n===tries&&!cta){unsent();}},15000);
after(function(){fetch(url,{method:'POST',keepalive:true,credentials:'omit',
headers:{'Content-Type':'text/plain;charset=UTF-8'},
body:JSON.stringify({code:code,visitor_id:vid,type:'cta',event_id:ctaId})}).then(function(r){
clearTimeout(late);if(!r.ok){throw r.status;}if(!cta){cta=true;
try{localStorage.setItem(asked,'1');}catch(e){}said('已告知您的客户经理，将尽快与您联系');}
})['catch'](function(){clearTimeout(late);if(n===tries&&!cta){unsent();}});});});
// A tap is on a page the customer sees (opening() above sends its open first); were it not yet
// shown, the click waits for the open like every other beacon.
function after(f){if(opened){f();}else{held.push(f);}}
function fit(){var root=document.documentElement.classList;root.remove('flow');
if(bar.getBoundingClientRect().height>window.innerHeight*0.25){root.add('flow');}}
fit();window.addEventListener('resize',fit);
if(window.ResizeObserver){new ResizeObserver(function(){fit();}).observe(btn);}
// An image that fails is asked for again under fresh URLs (once; they may have expired); one
// that fails still says so, and a tap tries it again.
var asking=null,askedAt=0,waiting=[];
function load(img,jpeg,webp){var s=img.parentNode.querySelector('source');
if(s&&webp){s.srcset=webp;}img.src=jpeg;}
function settle(){var w=waiting,i;waiting=[];for(i=0;i<w.length;i++){fail(w[i]);}}
function renew(){var i,p,img;if(asking){return;}
if(!window.fetch||Date.now()-askedAt<30000){settle();return;}
askedAt=Date.now();asking=fetch('/s/'+code+'/pages',{credentials:'omit',cache:'no-store'})
.then(function(r){if(!r.ok){throw r.status;}return r.json();}).then(function(d){
for(i=0;i<d.pages.length;i++){p=d.pages[i];img=document.querySelector('img[data-page="'+p.page+'"]');
if(!img||(img.complete&&img.naturalWidth>0)){continue;}load(img,p.jpeg,p.webp);
waiting=waiting.filter(function(w){return w!==img;});}})['catch'](function(){})
.then(function(){asking=null;settle();});}
function broken(img){if(img.getAttribute('data-renewed')){fail(img);return;}
img.setAttribute('data-renewed','1');waiting.push(img);renew();}
function tip(img,make){var pic=img.parentNode,b=pic.nextSibling;
if(b&&b.nodeType===1&&b.getAttribute('data-retry')){return b;}if(!make){return null;}
b=document.createElement('button');b.type='button';b.className='missing';
b.setAttribute('data-retry',img.getAttribute('data-page'));b.textContent='图片加载失败，点击重试';
b.setAttribute('aria-label',img.alt+'：图片加载失败，点击重试');
b.addEventListener('click',function(){again(img);});pic.parentNode.insertBefore(b,pic.nextSibling);
return b;}
function fail(img){if(img.complete&&img.naturalWidth>0){return;}img.className='page failed';
tip(img,true).hidden=false;}
function again(img){var s=img.parentNode.querySelector('source');tip(img,true).hidden=true;
img.className='page';img.removeAttribute('data-renewed');
load(img,img.getAttribute('src'),s&&s.getAttribute('srcset'));}
document.addEventListener('error',function(e){var t=e.target;
if(t&&t.tagName==='IMG'&&t.getAttribute('data-page')){broken(t);}},true);
document.addEventListener('load',function(e){var t=e.target,b;
if(t&&t.tagName==='IMG'&&t.getAttribute('data-page')&&t.naturalWidth>0){t.className='page';
b=tip(t,false);if(b){b.hidden=true;}}},true);
(function(){var imgs=document.querySelectorAll('img[data-page]'),i;for(i=0;i<imgs.length;i++){
if(imgs[i].complete&&imgs[i].naturalWidth===0){broken(imgs[i]);}}})();
})();"""
