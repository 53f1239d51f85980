"""A refused duty form says why in the site's language: the duty books' own reasons and
pydantic's form errors in Chinese for a Chinese site (the API keeps English)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from pydantic import ValidationError

import ingest.duty
from ingest.duty.books import DutyError
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


def test_every_refusal_of_the_duty_books_has_its_chinese_reason() -> None:
    # A refusal raised with its English reason alone would show English on the console.
    duty = Path(ingest.duty.__file__).parent
    refusals = {
        name
        for name, value in _module_classes(duty)
        if issubclass(value, DutyError) and value is not DutyError
    } - {"AlreadyDone"}  # made by the books with both reasons
    one_language = [
        f"{path.name}:{node.lineno}"
        for path in sorted(duty.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and isinstance(node.exc.func, ast.Name)
        and node.exc.func.id in refusals
        and len(node.exc.args) < 2
    ]
    assert refusals  # the walk found the refusal types
    assert one_language == []


def _module_classes(folder: Path) -> list[tuple[str, type]]:
    """Every class defined or imported in the modules of ``folder`` (ingest.duty)."""
    found = []
    for path in folder.glob("*.py"):
        module = importlib.import_module(f"ingest.duty.{path.stem}")
        found += [(n, v) for n, v in vars(module).items() if isinstance(v, type)]
    return found
