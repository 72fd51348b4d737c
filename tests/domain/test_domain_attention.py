"""KPI tiles in the order an operator needs them: crit, warn, no data, the rest."""

from ksys_app.domain.attention import abnormal_first, attention_rank, is_abnormal


def tile(title: str, tone: str) -> dict[str, str]:
    return {"title": title, "tone": tone}


def test_abnormal_first_then_tag_order():
    tiles = [tile("A", "normal"), tile("B", "warn"), tile("C", "nodata"), tile("D", "crit"),
             tile("E", "neutral"), tile("F", "warn")]
    assert [t["title"] for t in abnormal_first(tiles)] == ["D", "B", "F", "C", "A", "E"]


def test_all_fine_keeps_tag_order():
    tiles = [tile("D100", "normal"), tile("D200", "neutral"), tile("D300", "normal")]
    assert abnormal_first(tiles) == tiles


def test_rank_and_count():
    assert [attention_rank(t) for t in ("crit", "warn", "nodata", "normal", "neutral", "?")] == [0, 1, 2, 3, 3, 3]
    assert [is_abnormal(t) for t in ("warn", "normal", "nodata")] == [True, False, True]
