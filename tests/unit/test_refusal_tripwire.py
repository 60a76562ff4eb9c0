"""runner.retry: a model refused alike is not asked for every item."""

from __future__ import annotations


def test_the_refusal_tripwire_is_lifted_by_an_answer_and_ignores_403() -> None:
    """Three alike 401s before any answer stop a model's requests; an answer (of a request
    sent before) lifts that; a 403 never trips it: a gateway's moderation refuses an item
    with one, and three flagged items had kept every other item unsent, run after run (a
    review's)."""
    from shootout.errors import RejectedRequestError
    from shootout.runner.retry import RetryBudget

    budget = RetryBudget(10)
    for _ in range(3):
        budget.note(RejectedRequestError("HTTP 401 from /v1/chat/completions: bad key", 401))
    assert budget.refused is not None and "bad key" in budget.refused
    budget.note(None)
    assert budget.refused is None
    budget.note(RejectedRequestError("HTTP 401 from /v1/chat/completions: bad key", 401))
    assert budget.refused is None  # once answered, never
    flagged = RetryBudget(10)
    for _ in range(5):
        flagged.note(RejectedRequestError("HTTP 403 from /v1/chat/completions: flagged", 403))
    assert flagged.refused is None
