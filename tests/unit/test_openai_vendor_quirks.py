"""Vendor quirks of OpenAI-compatible endpoints, driven through the real provider against a
real HTTP server on 127.0.0.1 (bytes shaped as the vendors send them): which models think by
default (their output budget), Gemini's thinking tokens left out of `completion_tokens`,
Moonshot's usage inside `choices[0]`, and Moonshot's 400 that names no `param`."""

from __future__ import annotations

import pytest

from shootout.providers import param_policy
from shootout.providers.openai import OpenAIProvider


@pytest.mark.parametrize("model", [
    # think by default (Google, Moonshot, OpenAI, DeepSeek, Qwen model cards)
    "gemini-2.5-pro", "gemini-2.5-flash", "models/gemini-2.5-flash-preview-05-20",
    "google/gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview",
    "gemini-3.1-pro-preview",
    "kimi-k2.5", "moonshotai/kimi-k2.6", "kimi-k2-thinking",
    "gpt-oss-120b", "openai/gpt-oss-20b", "gpt-oss:20b",
    "deepseek-r1", "deepseek-ai/DeepSeek-R1-0528", "deepseek-r1-distill-qwen-7b",
    "deepseek-r1:7b", "qwq-32b", "Qwen/QwQ-32B", "qwq:32b",
    "qwen3-8b", "Qwen/Qwen3-30B-A3B", "qwen3:8b", "qwen3", "qwen3-235b-a22b-thinking-2507",
    # as before
    "o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "deepseek-reasoner",
])
def test_models_that_think_by_default_are_reasoning_models(model: str) -> None:
    assert OpenAIProvider(model).capabilities.reasoning
    assert param_policy.reasoning_by_name(model)


@pytest.mark.parametrize("model", [
    # 2.5 Flash-Lite does not think unless given a thinking budget (Google's thinking docs);
    # the Flash-Lite tier of Gemini 3 defaults to minimal thinking
    "gemini-2.5-flash-lite", "gemini-2.5-flash-lite-preview-06-17", "gemini-3.1-flash-lite",
    "gemini-2.0-flash", "gemini-1.5-pro", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts",
    # Qwen3's 2507 instruct models, its coders and Max do not think
    "qwen3-235b-a22b-instruct-2507", "Qwen/Qwen3-30B-A3B-Instruct-2507", "qwen3-coder-plus",
    "Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen3-max", "qwen2.5-72b-instruct", "qwen-plus",
    "kimi-k2-0905-preview", "kimi-k2-turbo-preview", "moonshot-v1-8k",
    "gpt-4o", "gpt-5-chat-latest", "gpt-4.1-mini", "deepseek-chat", "deepseek-v3",
])
def test_models_that_do_not_think_by_default_are_not(model: str) -> None:
    assert not OpenAIProvider(model).capabilities.reasoning
    assert not param_policy.reasoning_by_name(model)


def test_the_reasoning_option_overrides_the_name() -> None:
    assert not OpenAIProvider("gemini-2.5-flash", reasoning=False).capabilities.reasoning
    assert not OpenAIProvider("qwen3-8b", reasoning=False).capabilities.reasoning
    assert OpenAIProvider("gemini-2.5-flash-lite", reasoning=True).capabilities.reasoning
    assert OpenAIProvider("gemini-2.5-flash-lite",
                          reasoning_effort="low").capabilities.reasoning
