"""The words of Chinese text answers: segmented, stop words, punctuation and single characters
out, each word once per answer."""

from __future__ import annotations

from workbench.surveys.terms import stop_words, terms


def test_known_answers_give_their_words() -> None:
    assert terms("服务态度很好") == ["服务态度"]
    assert terms("等待时间太长") == ["等待时间"]
    assert terms("理财产品收益不错") == ["理财产品", "收益", "不错"]


def test_stop_words_punctuation_and_single_characters_are_dropped() -> None:
    found = terms("客户经理非常专业，但是排队时间太长了！！123")
    assert found == ["客户经理", "专业", "排队", "时间", "太长"]
    assert "非常" in stop_words()
    assert "但是" in stop_words()


def test_a_word_counts_once_per_answer_and_latin_is_lower_cased() -> None:
    assert terms("排队排队，还是排队") == ["排队"]
    assert terms("APP 经常闪退，app 很卡") == ["app", "经常", "闪退", "很卡"]
    assert terms("   ") == []
