"""YAML as shootout reads a user's files: safe, and a key given twice in one mapping refused.

PyYAML keeps the last of two equal keys without a word, so `limit: 2` followed later by
`limit: 500` ran 500 items; a run configuration, price table or profile file that says two
things at once is refused instead, at the line of the second key.
"""

from __future__ import annotations

from typing import Any

import yaml


class _StrictLoader(yaml.SafeLoader):
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value PyYAML cannot build (a date that does not exist, `2025-02-30`; `!!int
        abc`; `!!bool maybe`) is a YAML error at its line: it raised a ValueError, KeyError
        or AttributeError of its own, an internal error (exit 70) for the file's reader."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as e:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]} "
                f"({type(e).__name__}: {e})", node.start_mark) from e


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    # the mapping's own keys, before merge keys (`<<: *base`) bring theirs: a key of its own
    # may override a merged one
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: the constructor below says so
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"key {key!r} is given twice (the second here)", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(text: str) -> Any:
    """`yaml.safe_load(text)`, refusing a key given twice in one mapping."""
    return yaml.load(text, Loader=_StrictLoader)
