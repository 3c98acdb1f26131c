"""The bot rules on real user agents: people in browsers and in-app browsers count; crawlers,
link-preview fetchers, mail scanners and headless browsers are labelled with a reason."""

from __future__ import annotations

import pytest

from workbench.tracking.bots import verdict

PEOPLE = {
    "WeChat, iPhone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI"
    " Language/zh_CN",
    "WeChat, Android": "Mozilla/5.0 (Linux; Android 13; PGKM10 Build/TP1A.220905.001; wv)"
    " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile"
    " Safari/537.36 XWEB/5197 MMWEBSDK/20230805 MMWEBID/6548 MicroMessenger/8.0.42.2460(0x28002A58)"
    " WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
    "WeCom": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Mobile/15E148 wxwork/4.1.6 MicroMessenger/7.0.1 Language/zh ColorScheme/Light",
    "Alipay, Android": "Mozilla/5.0 (Linux; Android 12; V2055A Build/SP1A.210812.003; wv)"
    " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile"
    " Safari/537.36 AlipayClient/10.5.36.8000",
    "Alipay, iPhone": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 Ariver/1.1.0 AliApp(AP/10.5.26.6000) Nebula"
    " WK RVKType(0) AlipayDefined(nt:WIFI,ws:390|780|3.0) AlipayClient/10.5.26.6000"
    " Language/zh-Hans Region/CN NebulaX/1.0.0",
    "DingTalk's browser": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X)"
    " AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AliApp(DingTalk/7.0.40)"
    " com.laiwang.DingTalk/30219620 Channel/201200 language/zh-Hans-CN UT4Aplus/0.0.6 WK",
    "DingTalk's browser, Android": "Mozilla/5.0 (Linux; U; Android 12; zh-CN; M2012K11AC"
    " Build/SKQ1.211006.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0"
    " Chrome/69.0.3497.100 UWS/3.22.2.56 Mobile Safari/537.36 AliApp(DingTalk/7.0.30)"
    " com.alibaba.android.rimet/34034713 Channel/700159 language/zh-CN abi/64 UT4Aplus/0.2.25",
    "QQ": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Mobile/15E148 QQ/8.9.85.616 V1_IPH_SQ_8.9.85_1_APP_A Pixel/1170"
    " MiniAppEnable SimpleUISwitch/0 StudyMode/0 CurrentMode/0 CurrentFontScale/1.000000"
    " QQTheme/1000 AppId/537188475 Core/WKWebView Device/Apple(iPhone 13) NetType/WIFI"
    " QBWebViewType/1 WKType/1",
    "QQ browser": "Mozilla/5.0 (Linux; U; Android 13; zh-cn; PGKM10 Build/TP1A.220905.001)"
    " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/109.0.5414.86 MQQBrowser/14.3"
    " Mobile Safari/537.36",
    "Weibo": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Mobile/15E148 Weibo (iPhone15,2__weibo__13.11.1__iphone__os17.1)",
    "Safari, iPhone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Chrome, Android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Mobile Safari/537.36",
    "Huawei browser": "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.12.0.302)"
    " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.2.311"
    " Mobile Safari/537.36",
    "Chrome, desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
    " Gecko) Chrome/120.0.0.0 Safari/537.36",
}

# (user agent, reason)
BOTS: list[tuple[str, str]] = [
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "crawler list: Googlebot",
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "crawler list: bingbot",
    ),
    (
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "crawler list: Baiduspider",
    ),
    ("python-requests/2.31.0", "crawler list: python-requests"),
    ("curl/8.4.0", "crawler list: curl"),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/120.0.0.0 Safari/537.36",
        "headless",
    ),
    (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko)"
        " PhantomJS/2.1.1 Safari/538.1",
        "headless",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML,"
        " like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "link preview: iMessage",
    ),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "link preview: Slackbot"),
    ("TelegramBot (like TwitterBot)", "link preview: TelegramBot"),
    ("Twitterbot/1.0", "link preview: Twitterbot"),
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "link preview: facebookexternalhit",
    ),
    ("WhatsApp/2.23.20.0", "link preview: WhatsApp"),
    (
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "link preview: Discordbot",
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "link preview: SkypeUriPreview",
    ),
    ("Mozilla/5.0 (compatible; DingTalkBot-LinkService/1.0)", "link preview: DingTalk"),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/91.0.4472.114 Safari/537.36 LarkUrl2Card",
        "link preview: Feishu/Lark",
    ),
    ("Mozilla/5.0 (compatible; WeChat-Spider/1.0)", "link preview: WeChat"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/120.0.0.0 Safari/537.36 Barracuda Sentinel (EE)",
        "mail scanner: Barracuda",
    ),
    ("Mozilla/5.0 (compatible; Mimecast-URL-Protect)", "mail scanner: Mimecast"),
    ("Proofpoint URL Defense", "mail scanner: Proofpoint"),
    ("Microsoft Office Existence Discovery", "mail scanner: Outlook"),
    ("", "no user agent"),
]


@pytest.mark.parametrize("name", PEOPLE)
def test_people_count(name):
    assert verdict(PEOPLE[name]) == ("human", ""), name


@pytest.mark.parametrize(("user_agent", "reason"), BOTS)
def test_bots_are_labelled_with_their_reason(user_agent, reason):
    assert verdict(user_agent) == ("bot", reason)


def test_a_flagged_flood_is_a_bot_whoever_sent_it():
    assert verdict(PEOPLE["WeChat, iPhone"], True) == ("bot", "rate")


def test_the_table_is_large_enough():
    assert len(PEOPLE) >= 12
    assert len(BOTS) >= 20
    assert len(PEOPLE) + len(BOTS) >= 25
