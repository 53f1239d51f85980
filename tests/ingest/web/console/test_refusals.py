"""A refused duty form says why in the site's language: the duty books' own reasons and
pydantic's form errors in Chinese for a Chinese site (the API keeps English)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.duty.samples import SampleIn, SampleRefused
from ingest.duty.visitors import VisitorIn
from ingest.web.console.routes.duty_common import reason


def _refusal(model: type[SampleIn] | type[VisitorIn], body: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return caught.value


def test_a_form_error_names_the_field_and_why_in_chinese() -> None:
    sample = {"meal": "lunch", "fridge": "f", "taken_at": 1}
    grams = _refusal(SampleIn, {**sample, "dishes": [{"name": "番茄炒蛋", "grams": "abc"}]})
    assert reason(grams, "zh") == "菜 第 1 项 克数：要填整数"
    assert reason(grams, "en").startswith("dishes.0.grams: ")  # as before, for English sites
    long = _refusal(VisitorIn, {"name": "张" * 65, "visiting": "找园长", "approved_by": "王主任"})
    assert reason(long, "zh") == "名字：太长了，最多 64 个字"
    missing = _refusal(VisitorIn, {"name": "张三", "approved_by": "王主任"})
    assert reason(missing, "zh") == "来访事由：必须填写"


def test_the_books_reasons_and_a_record_gone_are_said_in_chinese() -> None:
    refused = SampleRefused("sample 3 must be kept until its 48 hours are over", "还没满 48 小时")
    assert reason(refused, "zh") == "还没满 48 小时"
    assert reason(refused, "en") == "sample 3 must be kept until its 48 hours are over"
    assert reason(LookupError("no sample 9"), "zh") == "这条记录已经不在了，请刷新页面"
    assert reason("静音小时数要填数字", "zh") == "静音小时数要填数字"
