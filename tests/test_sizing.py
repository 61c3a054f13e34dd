import orjson
import pytest

from minicrm.sizing import TooLarge, fit


def test_parts_fit_the_limit_keep_order_and_cost_one_encoding_when_small():
    items = [{"n": i, "text": "x" * (i % 50)} for i in range(1000)]
    calls = []

    def encode(part):
        calls.append(len(part))
        return orjson.dumps(part)

    assert [p for p, _ in fit(items, encode, 10**9)] == [items] and calls == [1000]
    parts = fit(items, orjson.dumps, 4000)
    assert all(len(data) <= 4000 and data == orjson.dumps(part) for part, data in parts)
    assert [item for part, _ in parts for item in part] == items
    assert fit([], orjson.dumps, 10) == [] and len(fit(items, orjson.dumps, 0)) == 1


def test_one_item_past_the_limit_cannot_fit():
    with pytest.raises(TooLarge, match="past the limit"):
        fit([{"t": "x" * 100}], orjson.dumps, 50)
