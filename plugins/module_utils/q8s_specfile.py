# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Reading a cluster spec file at a bounded cost, whatever it contains.

A YAML file can describe far more data than it holds: ten nested levels of ten aliases
each ("billion laughs") are 10^10 values in a few hundred bytes, and an alias inside its
own anchor is an endless one. So the spec file is read here, not with Ansible's loader:

* the file may hold at most :data:`MAX_BYTES`;
* its nesting is checked on the event stream (no recursion) before nodes are built;
* while the nodes become plain Python values, every value an alias expands to is
  counted: past :data:`MAX_VALUES` values, or :data:`MAX_CHARACTERS` characters of
  strings, the spec is rejected naming the field where the limit was hit;
* an alias used inside its own anchor is rejected naming the field;
* a key given twice in one mapping is an error naming the key (Ansible only warns).

The result holds only dict, list, str, int, float, bool and None; the upstream Q8S tags
(``!ClusterData`` ...) and any other tag on a mapping give a plain mapping.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    import yaml

    # libyaml's parser when there is one: the same YAML, read faster.
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # pragma: no cover - PyYAML is there wherever Ansible runs
    yaml = None
    _Loader = None

# A spec is a few kilobytes; paper-50.yml is 2 KB. These bounds are far above any real spec
# and far below what would take the controller seconds (tests/unit/test_hostile_specs.py).
MAX_BYTES = 1024 * 1024
MAX_VALUES = 100000
MAX_CHARACTERS = 4 * 1024 * 1024
MAX_DEPTH = 32

_MERGE = "tag:yaml.org,2002:merge"
_STANDARD = "tag:yaml.org,2002:"
_TOO_BIG_FIX = "a cluster spec is a few kilobytes; pass the spec itself, with few aliases"
# A top-level key of a spec, in YAML or JSON spelling (looked for anywhere: cheap and safe).
_SPEC_KEY = re.compile(r"\b(cluster_definition|vm_types)[\"']?\s*:")


class SpecFileError(ValueError):
    """A spec file that cannot be read within the bounds; ``errors`` as SpecError's."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(SpecFileError, self).__init__("\n".join(self.errors))


def _field(path):
    return path or "(top level)"


def _key(path, key):
    return "%s.%s" % (path, key) if path else str(key)


class _Builder:
    def __init__(self, origin):
        self.origin = origin
        self.values = 0
        self.characters = 0
        self.constructor = _Loader("")

    def fail(self, path, problem, fix):
        raise SpecFileError(["%s: %s. Fix: %s" % (_field(path), problem, fix)])

    def count(self, path, characters=0):
        self.values += 1
        self.characters += characters
        if self.values > MAX_VALUES:
            self.fail(
                path,
                "the spec expands to more than %d values (YAML aliases are counted each time they are used)" % MAX_VALUES,
                "write the values out, or use fewer aliases; a cluster spec needs a few hundred values",
            )
        if self.characters > MAX_CHARACTERS:
            self.fail(
                path,
                "the spec expands to more than %d characters of text (YAML aliases are counted each time they are used)" % MAX_CHARACTERS,
                "write shorter values, or use fewer aliases",
            )

    def build(self, node, path, stack):
        if id(node) in stack:
            self.fail(path, "is a YAML alias that contains itself (an endless value)", "replace the alias inside its own anchor with the values it should hold")
        if isinstance(node, yaml.ScalarNode):
            self.count(path, len(node.value))
            if node.tag.startswith(_STANDARD) and node.tag != _MERGE:
                try:
                    value = self.constructor.construct_object(node)
                except yaml.YAMLError:
                    value = node.value
                if not isinstance(value, (str, int, float, bool)) and value is not None:
                    value = node.value  # timestamps and binary stay the text written
                return value
            return node.value
        self.count(path)
        stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, "%s[%d]" % (path, i), stack) for i, item in enumerate(node.value)]
            return self.mapping(node, path, stack)
        finally:
            stack.discard(id(node))

    def mapping(self, node, path, stack):
        out = {}
        merged = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    data = self.build(source, path, stack)
                    if not isinstance(data, dict):
                        self.fail(path, "merges (<<) a value that is not a mapping", "merge only mappings")
                    for key, value in data.items():
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(path, "has a key that is not a plain value", "write keys as plain names")
            key = self.build(key_node, path, stack)
            if isinstance(key, (list, dict)):  # pragma: no cover - scalar nodes give scalars
                key = str(key)
            if key in out:
                self.fail(
                    _key(path, key),
                    "is given twice (line %d and line %d); YAML would keep only the last one" % (self._line(node, key), key_node.start_mark.line + 1),
                    "remove one of them",
                )
            out[key] = self.build(value_node, _key(path, key), stack)
        for key, value in merged.items():
            out.setdefault(key, value)
        return out

    @staticmethod
    def _line(node, key):
        for pair in node.value:
            key_node = pair[0]
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return key_node.start_mark.line + 1
        return 0  # pragma: no cover


def _check_depth(text):
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise SpecFileError(
                    [
                        "(line %d): values are nested more than %d levels deep. Fix: a cluster spec needs at most 5 levels; remove the extra nesting"
                        % (mark.line + 1 if mark else 0, MAX_DEPTH)
                    ]
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def looks_like_spec(text):
    """Whether a file's text may hold a spec: it names ``cluster_definition`` or ``vm_types``."""
    return bool(_SPEC_KEY.search(text))


def load_text(text, origin="the spec"):
    """Parse YAML text into plain values within the bounds; raise SpecFileError otherwise."""
    if len(text) > MAX_BYTES:
        raise SpecFileError(
            ["(file): %s holds %d characters, more than the %d a cluster spec may hold. Fix: %s" % (origin, len(text), MAX_BYTES, _TOO_BIG_FIX)]
        )
    try:
        _check_depth(text)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SpecFileError(["(file): %s is not valid YAML: %s. Fix: correct the YAML syntax at the place named" % (origin, str(exc).replace("\n", " "))])
    if node is None:
        return None
    return _Builder(origin).build(node, "", set())


def load_file(path):
    """Read and parse a spec file within the bounds (see :func:`load_text`)."""
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise SpecFileError(["(file): %s holds %d bytes, more than the %d a cluster spec may hold. Fix: %s" % (path, size, MAX_BYTES, _TOO_BIG_FIX)])
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecFileError(["(file): %s is not UTF-8 text. Fix: save the spec as UTF-8" % path])
    return load_text(text, path)


def plain(value, _budget=None, _stack=None, _path=""):
    """Like load_text's result for data that is already loaded (``-e`` JSON, a vault file):
    plain types only, at most MAX_VALUES values, no value containing itself."""
    budget = [0] if _budget is None else _budget
    stack = set() if _stack is None else _stack
    path = _path
    budget[0] += 1
    if budget[0] > MAX_VALUES:
        raise SpecFileError(["%s: the spec expands to more than %d values. Fix: write the values out, or use fewer aliases" % (_field(path), MAX_VALUES)])
    if len(_stack or ()) > MAX_DEPTH:
        raise SpecFileError(["%s: values are nested more than %d levels deep. Fix: remove the extra nesting" % (_field(path), MAX_DEPTH)])
    if isinstance(value, (dict, list, tuple)):
        if id(value) in stack:
            raise SpecFileError(
                ["%s: is a value that contains itself (an endless value). Fix: replace the reference with the values it should hold" % _field(path)]
            )
        stack.add(id(value))
        try:
            if isinstance(value, dict):
                return dict((plain(k, budget, stack, path), plain(v, budget, stack, _key(path, k))) for k, v in value.items())
            return [plain(v, budget, stack, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
        finally:
            stack.discard(id(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
