"""A report page as its own HTML document: what devices, places and the config name is
text, never markup, wherever it lands (heading, hints, cells and their labels)."""

from __future__ import annotations

from ingest.reports.pages import ReportPage
from ingest.reports.render import page_html

HOSTILE = "<script>alert(1)</script>\"'&"


def test_every_text_of_a_report_page_is_escaped() -> None:
    page = ReportPage(
        heading=f"一周一反馈 {HOSTILE}",
        lang="zh",
        summary=[HOSTILE],
        hints=[f"{HOSTILE}：疑似漏水"],
        charts=[("data:image/png;base64,AAAA", HOSTILE)],
        header=[f"表{HOSTILE}", "位置"],
        rows=[[f"总水表{HOSTILE}", f"教学楼{HOSTILE}"]],
    )
    html = page_html(page, f"阳光幼儿园{HOSTILE}")
    assert "<script>" not in html
    assert (
        html.count("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;") == 10
    )  # each place it is shown
    assert f'data-label="表{HOSTILE}"' not in html
    assert "<h2>需要注意</h2>" in html  # the page's own markup stays


def test_a_page_without_rows_says_so() -> None:
    html = page_html(ReportPage(heading="冷链记录 11月23日", lang="zh"), "阳光幼儿园")
    assert "这段时间没有数据。" in html
    assert "<table" not in html
