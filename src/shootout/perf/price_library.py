"""Prices from the maintained `genai-prices` library (pydantic's), for models the table lacks.

Optional (`pip install 'shootout[prices]'`): without it the table alone prices models, and an
unpriced model's source says the library is not installed. Only the data bundled with the
installed release is read (its `UpdatePrices` background download is never started), so a
price is pinned by the library's version, which the source names.

The provider is never guessed from the model name alone (the same id can be priced by several
providers, one of them at "included in a subscription"): it is the endpoint's, matched on the
base URL, or for the default endpoint the spec's kind (`openai:`, `anthropic:`). Mapped fields:
input_mtok, cache_read_mtok, cache_write_mtok and output_mtok (USD per 1M tokens). A model
whose entry has neither an input nor an output price stays unpriced, never 0. A tiered price
(a higher rate above some number of input tokens per request) is taken at its base rate, and
the source says so: costs here are summed over a run's requests, not priced one by one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from .prices import Price

PACKAGE = "genai-prices"
INSTALL = "pip install 'shootout[prices]'"
_FIELDS = {"input_mtok": "input_per_m", "cache_read_mtok": "cached_input_per_m",
           "cache_write_mtok": "cache_write_per_m", "output_mtok": "output_per_m"}
_PROVIDER_KINDS = ("openai", "anthropic")


def library_version() -> str | None:
    """The installed genai-prices version, or None when it is not installed."""
    try:
        import genai_prices
    except ImportError:
        return None
    return str(genai_prices.__version__)


def library_price(model_id: str, kind: str, base_url: str | None) -> Price | str:
    """The library's price of `model_id` at the endpoint, or why there is none (a sentence
    for the report's price source)."""
    try:
        import genai_prices
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:
        return f"{PACKAGE} not installed ({INSTALL})"
    name = f"{PACKAGE} {genai_prices.__version__}"
    if base_url is None and kind not in _PROVIDER_KINDS:
        return f"{name}: no provider known for a {kind or 'bare'} spec"
    try:
        provider, info = get_snapshot().find_provider_model(
            model_id, None, None if base_url else kind, base_url)
    except LookupError:
        # the host only: a base URL may carry credentials or a key in its query
        where = (urlparse(base_url).hostname or "this endpoint") if base_url else kind
        return f"{name} has no price for {model_id} at {where}"
    prices = info.get_prices(datetime.now(tz=UTC))
    values: dict[str, float | None] = {}
    tiered = False
    for key, field in _FIELDS.items():
        rate, was_tiered = _rate(getattr(prices, key, None))
        values[field] = rate
        tiered = tiered or was_tiered
    if values["input_per_m"] is None and values["output_per_m"] is None:
        return f"{name} lists {provider.id}/{info.id} without a token price"
    source = f"{name} ({provider.id}/{info.id})"
    if tiered:
        source += ", base tier: higher rates above a per-request input size are not applied"
    return Price(input_per_m=values["input_per_m"],
                 cached_input_per_m=values["cached_input_per_m"],
                 output_per_m=values["output_per_m"],
                 cache_write_per_m=values["cache_write_per_m"], source=source, origin="library")


def _rate(value: Any) -> tuple[float | None, bool]:
    """A rate in USD per 1M tokens, and whether it was a tiered price's base."""
    if value is None:
        return None, False
    if isinstance(value, Decimal | int | float):
        return float(value), False
    base = getattr(value, "base", None)  # TieredPrices
    return (float(base), True) if base is not None else (None, False)
