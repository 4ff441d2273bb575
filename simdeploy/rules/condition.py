"""Argo Rollouts analysis conditions: a small, safe expression language.

An Argo Rollouts ``AnalysisTemplate`` metric judges each measurement with two
optional expressions, ``successCondition`` and ``failureCondition``, written in
`expr-lang <https://expr-lang.org>`_. The measured value is bound to the name
``result``. With the Prometheus provider a scalar query gives a float
(``result > 0.95``) and an instant vector gives a list of floats, one per
series, so the usual spelling is ``result[0] >= 0.95``. A query that matched no
series gives an *empty* list, and ``result[0]`` on it is an evaluation error:
the measurement is then ``Error``, not ``Failed``
(``argoproj/argo-rollouts metricproviders/prometheus/prometheus.go
processResponse``; ``utils/evaluate/evaluate_test.go
TestEvaluateResultErrorMessageWithEmptySlice``).

This module implements the part of expr-lang those conditions use, by hand: a
tokenizer, a recursive-descent parser with expr-lang's operator precedences,
and a type checker that compiles the tree into Python closures. Nothing is ever
passed to Python's ``eval``. Supported:

* literals: integers (``10``, ``1_000``, ``0x1F``), floats (``0.95``, ``.5``,
  ``1e-3``), ``true``, ``false``;
* the variable ``result`` (a float, a bool, or a list of floats), indexing
  ``result[i]`` (negative ``i`` counts from the end, as in expr-lang);
* ``len(x)``, ``isNaN(x)``, ``isInf(x)`` (the functions Argo adds to the
  environment, ``utils/evaluate/evaluate.go EvalCondition``);
* ``!``/``not``, unary ``-``/``+``, ``* /``, ``+ -``, comparisons
  ``< <= > >= == !=`` (``a < b < c`` chains as ``a < b && b < c``),
  ``x in result`` / ``x not in result``, ``&&``/``and``, ``||``/``or``, and
  parentheses.

Anything else expr-lang offers (strings, ``%``, ``**``, ``?:``, ``??``, member
access, closures such as ``all(result, # > 1)``, Argo's ``asInt``/``asFloat``/
``isNil``/``default``) is rejected by :func:`parse` with a :class:`ConditionError`
naming the construct, so a scenario can be checked when it is loaded.

Semantics follow expr-lang v1.17 (the version Argo pins), which compiles the
condition against the *actual* type of ``result``:

* Type errors are static. ``result[0]`` on a float, ``result < 1`` on a list,
  ``1 && true`` or ``result == true`` on a number are errors even inside a
  branch that short-circuiting would skip (``checker/checker.go`` binaryNode,
  memberNode). Runtime errors (an index out of range) do respect ``&&``/``||``
  short-circuiting, so ``len(result) > 0 && result[0] > 1`` is safe on an
  empty vector.
* Integers and floats mix freely; ``/`` always gives a float and follows
  IEEE 754, so ``1/0`` is ``+Inf`` and ``0/0`` is ``NaN``, not an error
  (``vm/runtime`` Divide). Integer ``+ - *`` wrap at 64 bits, as Go does.
* Comparisons follow IEEE 754: every ordered comparison with NaN is false and
  ``NaN == NaN`` is false. A NaN scalar with ``result >= 0.9`` /
  ``result < 0.9`` is therefore ``Inconclusive`` (``prometheus_test.go
  TestProcessNaNResponse``).
* The final value must be a bool; ``1`` or ``result`` (a float) is an error
  ("expected bool, but got int", ``EvalCondition``).

Every error, at parse or evaluation time, is a :class:`ConditionError` (a
``ValueError``) with a one-line message; Argo maps any of them to the
measurement phase ``Error``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from numbers import Real
from typing import Any, NamedTuple

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Condition",
    "ConditionError",
    "ResultValue",
    "coerce_result",
    "evaluate",
    "parse",
]

MAX_LENGTH = 4096
"""Longest condition text accepted, in characters."""

MAX_DEPTH = 64
"""Deepest nesting accepted (parentheses, operators, calls), so parsing and
evaluation can never exhaust Python's recursion limit."""

ResultValue = float | bool | Sequence[float]
"""What a measurement can be: a float, a bool, or a list of floats."""


class ConditionError(ValueError):
    """A condition that cannot be parsed or evaluated (Argo's measurement ``Error``)."""


# Go type names, spelled as expr-lang prints them in its messages.
_INT = "int"
_FLOAT = "float64"
_BOOL = "bool"
_LIST = "[]float64"
_NUMBERS = (_INT, _FLOAT)

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

# Precedences from expr-lang parser/operator/operator.go (binary, all left-associative here).
_BINARY = {
    "or": 10,
    "||": 10,
    "and": 15,
    "&&": 15,
    "==": 20,
    "!=": 20,
    "<": 20,
    ">": 20,
    "<=": 20,
    ">=": 20,
    "in": 20,
    "+": 30,
    "-": 30,
    "*": 60,
    "/": 60,
}
_UNARY = {"!": 50, "not": 50, "-": 90, "+": 90}
_ORDERING = ("<", ">", "<=", ">=")
_FUNCTIONS = ("len", "isNaN", "isInf")

# -------------------------------------------------------------------------------------------
# Tokens

_NUM = "number"
_NAME = "name"
_OP = "operator"
_PUNCT = "punct"
_END = "end"

_TWO_CHAR_OPS = ("||", "&&", "==", "!=", "<=", ">=")
_KEYWORD_OPS = ("and", "or", "not", "in")
_UNSUPPORTED_TWO = ("**", "??", "?.", "..", "::")
_UNSUPPORTED_ONE = "%^?:.|&=#;{}'\"`~@"


class _Token(NamedTuple):
    kind: str
    text: str
    pos: int
    value: Any = None


def _fail(message: str, pos: int) -> ConditionError:
    return ConditionError(f"{message} (column {pos + 1})")


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _is_name_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdecimal() or ch in "_$"


def _scan_number(text: str, start: int) -> tuple[_Token, int]:
    """Scan a number literal the way expr-lang's lexer does (``scanNumber``)."""
    n = len(text)
    i = start
    digits = "0123456789_"
    if text[i] == "0" and i + 1 < n and text[i + 1] in "xXoObB":
        digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[text[i + 1].lower()]
        i += 2
    while i < n and text[i] in digits:
        i += 1
    if i < n and text[i] == "." and not (i + 1 < n and text[i + 1] == "."):
        i += 1
        while i < n and text[i] in digits:
            i += 1
    if i < n and text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        while i < n and text[i] in digits:
            i += 1
    if i < n and _is_name_char(text[i]):
        raise _fail(f"bad number syntax: {text[start : i + 1]!r}", start)
    raw = text[start:i].replace("_", "")
    low = raw.lower()
    value: int | float
    try:
        if low.startswith("0x"):
            value = int(raw[2:], 16)
        elif "." in low or "e" in low:
            value = float(raw)
            if math.isinf(value):
                raise _fail(f"invalid float literal: {raw} is out of range", start)
        elif low.startswith(("0b", "0o")):
            value = int(raw[2:], 2 if low[1] == "b" else 8)
        else:
            value = int(raw, 10)
    except ValueError as exc:
        if isinstance(exc, ConditionError):
            raise
        raise _fail(f"invalid number literal: {raw!r}", start) from None
    if isinstance(value, int) and value > _INT64_MAX:
        raise _fail(f"integer literal is too large: {raw}", start)
    return _Token(_NUM, text[start:i], start, value), i


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif _is_digit(ch) or (ch == "." and i + 1 < n and _is_digit(text[i + 1])):
            token, i = _scan_number(text, i)
            tokens.append(token)
        elif ch.isalpha() or ch in "_$":
            start = i
            while i < n and _is_name_char(text[i]):
                i += 1
            word = text[start:i]
            kind = _OP if word in _KEYWORD_OPS else _NAME
            tokens.append(_Token(kind, word, start))
        elif text[i : i + 2] in _TWO_CHAR_OPS:
            tokens.append(_Token(_OP, text[i : i + 2], i))
            i += 2
        elif text[i : i + 2] in _UNSUPPORTED_TWO:
            raise _fail(f"unsupported operator {text[i : i + 2]!r}", i)
        elif ch in "<>!+-*/":
            tokens.append(_Token(_OP, ch, i))
            i += 1
        elif ch in "()[],":
            tokens.append(_Token(_PUNCT, ch, i))
            i += 1
        elif ch in _UNSUPPORTED_ONE:
            raise _fail(f"unsupported operator or literal {ch!r}", i)
        else:
            raise _fail(f"unrecognized character {ch!r}", i)
    tokens.append(_Token(_END, "end of text", n))
    return tokens


# -------------------------------------------------------------------------------------------
# Syntax tree


class _Node:
    __slots__ = ("depth", "pos")

    def __init__(self, pos: int, *children: _Node) -> None:
        self.pos = pos
        self.depth = 1 + max((c.depth for c in children), default=0)
        if self.depth > MAX_DEPTH:
            raise _fail(f"expression is nested more than {MAX_DEPTH} levels deep", pos)


class _Literal(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: int | float | bool) -> None:
        super().__init__(pos)
        self.value = value


class _Result(_Node):
    __slots__ = ()


class _Unary(_Node):
    __slots__ = ("op", "operand")

    def __init__(self, pos: int, op: str, operand: _Node) -> None:
        super().__init__(pos, operand)
        self.op = op
        self.operand = operand


class _Binary(_Node):
    __slots__ = ("left", "op", "right")

    def __init__(self, pos: int, op: str, left: _Node, right: _Node) -> None:
        super().__init__(pos, left, right)
        self.op = op
        self.left = left
        self.right = right


class _Index(_Node):
    __slots__ = ("base", "index")

    def __init__(self, pos: int, base: _Node, index: _Node) -> None:
        super().__init__(pos, base, index)
        self.base = base
        self.index = index


class _Call(_Node):
    __slots__ = ("args", "name")

    def __init__(self, pos: int, name: str, args: list[_Node]) -> None:
        super().__init__(pos, *args)
        self.name = name
        self.args = args


class _Parser:
    """Recursive descent with expr-lang's precedence climbing (``parser/parser.go``)."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.nesting = 0

    @property
    def cur(self) -> _Token:
        return self.tokens[self.i]

    def _advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != _END:
            self.i += 1
        return token

    def _expect(self, text: str) -> None:
        token = self.cur
        if token.kind != _PUNCT or token.text != text:
            raise _fail(f"expected {text!r}, got {token.text!r}", token.pos)
        self._advance()

    def parse(self) -> _Node:
        node = self._expression(0)
        if self.cur.kind != _END:
            raise _fail(f"unexpected token {self.cur.text!r}", self.cur.pos)
        return node

    def _expression(self, min_prec: int) -> _Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise _fail(f"expression is nested more than {MAX_DEPTH} levels deep", self.cur.pos)
        left = self._primary()
        while self.cur.kind == _OP:
            token = self.cur
            op = token.text
            negate = False
            if op == "not":
                after = self.tokens[self.i + 1]
                if not (after.kind == _OP and after.text == "in"):
                    raise _fail("unexpected token 'not'", token.pos)
                if _BINARY["in"] < min_prec:
                    break
                self._advance()
                op, negate = "in", True
            prec = _BINARY.get(op)
            if prec is None or prec < min_prec:
                break
            self._advance()
            if op in _ORDERING:
                left = self._comparison(left, op, prec, token.pos)
                continue
            right = self._expression(prec + 1)
            left = _Binary(token.pos, op, left, right)
            if negate:
                left = _Unary(token.pos, "not", left)
        self.nesting -= 1
        return left

    def _comparison(self, left: _Node, op: str, prec: int, pos: int) -> _Node:
        """Parse ``a < b < c`` as ``a < b && b < c`` (expr-lang ``parseComparison``)."""
        root: _Node | None = None
        while True:
            right = self._expression(prec + 1)
            node = _Binary(pos, op, left, right)
            root = node if root is None else _Binary(pos, "&&", root, node)
            left = right
            token = self.cur
            if not (token.kind == _OP and token.text in _ORDERING):
                return root
            op, pos = token.text, token.pos
            self._advance()

    def _primary(self) -> _Node:
        token = self.cur
        if token.kind == _OP and token.text in _UNARY:
            self._advance()
            operand = self._expression(_UNARY[token.text])
            return self._postfix(_Unary(token.pos, token.text, operand))
        if token.kind == _PUNCT and token.text == "(":
            self._advance()
            node = self._expression(0)
            self._expect(")")
            return self._postfix(node)
        return self._secondary()

    def _secondary(self) -> _Node:
        token = self._advance()
        if token.kind == _NUM:
            return _Literal(token.pos, token.value)
        if token.kind != _NAME:
            raise _fail(f"unexpected token {token.text!r}", token.pos)
        if token.text in ("true", "false"):
            return _Literal(token.pos, token.text == "true")
        if self.cur.kind == _PUNCT and self.cur.text == "(":
            return self._postfix(self._call(token))
        if token.text == "result":
            return self._postfix(_Result(token.pos))
        if token.text in _FUNCTIONS:
            raise _fail(f"function {token.text} must be called", token.pos)
        raise _fail(f"unknown name {token.text} (only 'result' is defined)", token.pos)

    def _call(self, name: _Token) -> _Node:
        if name.text not in _FUNCTIONS:
            raise _fail(
                f"unknown or unsupported function {name.text}() "
                f"(supported: {', '.join(_FUNCTIONS)})",
                name.pos,
            )
        self._expect("(")
        args: list[_Node] = []
        if not (self.cur.kind == _PUNCT and self.cur.text == ")"):
            while True:
                args.append(self._expression(0))
                if self.cur.kind == _PUNCT and self.cur.text == ",":
                    self._advance()
                    continue
                break
        self._expect(")")
        if len(args) != 1:
            raise _fail(f"{name.text}() takes exactly 1 argument, got {len(args)}", name.pos)
        return _Call(name.pos, name.text, args)

    def _postfix(self, node: _Node) -> _Node:
        while self.cur.kind == _PUNCT and self.cur.text == "[":
            token = self._advance()
            index = self._expression(0)
            self._expect("]")
            node = _Index(token.pos, node, index)
        return node


# -------------------------------------------------------------------------------------------
# Type checking and compilation to closures

_Fn = Callable[[Any], Any]


def _wrap_int64(value: int) -> int:
    """Wrap an integer to Go's 64-bit two's complement, as Go's ``int`` arithmetic does."""
    return ((value - _INT64_MIN) & 0xFFFF_FFFF_FFFF_FFFF) + _INT64_MIN


def _go_divide(a: float, b: float) -> float:
    """IEEE 754 division, as Go's float64 ``/``: x/0 is ±Inf and 0/0 is NaN."""
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.inf if math.copysign(1.0, a) == math.copysign(1.0, b) else -math.inf
    return a / b


def _list_equal(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Element-wise float equality (so a NaN element never compares equal)."""
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


def _contains(seq: tuple[float, ...], x: float) -> bool:
    """Membership by float equality (Python's ``in`` would match a NaN by identity)."""
    return any(item == x for item in seq)


def _as_float(ftype: str, fn: _Fn) -> _Fn:
    if ftype == _FLOAT:
        return fn
    return lambda r: float(fn(r))


def _mismatch(node: _Node, op: str, lt: str, rt: str) -> ConditionError:
    return _fail(f"invalid operation: {op} (mismatched types {lt} and {rt})", node.pos)


def _compile(node: _Node, rtype: str) -> tuple[str, _Fn]:
    """Return the static type of ``node`` and a closure computing it from ``result``."""
    if isinstance(node, _Literal):
        value = node.value
        vtype = _BOOL if isinstance(value, bool) else _INT if isinstance(value, int) else _FLOAT
        return vtype, lambda r: value
    if isinstance(node, _Result):
        return rtype, lambda r: r
    if isinstance(node, _Unary):
        return _compile_unary(node, rtype)
    if isinstance(node, _Index):
        return _compile_index(node, rtype)
    if isinstance(node, _Call):
        return _compile_call(node, rtype)
    assert isinstance(node, _Binary)
    return _compile_binary(node, rtype)


def _compile_unary(node: _Unary, rtype: str) -> tuple[str, _Fn]:
    otype, fn = _compile(node.operand, rtype)
    if node.op in ("!", "not"):
        if otype != _BOOL:
            raise _fail(f"invalid operation: {node.op} (mismatched type {otype})", node.pos)
        return _BOOL, lambda r: not fn(r)
    if otype not in _NUMBERS:
        raise _fail(f"invalid operation: {node.op} (mismatched type {otype})", node.pos)
    if node.op == "+":
        return otype, fn
    if otype == _INT:
        return _INT, lambda r: _wrap_int64(-fn(r))
    return _FLOAT, lambda r: -fn(r)


def _compile_index(node: _Index, rtype: str) -> tuple[str, _Fn]:
    btype, base = _compile(node.base, rtype)
    itype, index = _compile(node.index, rtype)
    if btype != _LIST:
        raise _fail(f"type {btype}[{itype}] is undefined", node.pos)
    if itype != _INT:
        raise _fail(f"array elements can only be selected using an integer (got {itype})", node.pos)

    def fetch(r: Any) -> float:
        seq = base(r)
        i = index(r)
        n = len(seq)
        j = i + n if i < 0 else i
        if j < 0 or j >= n:
            raise ConditionError(f"index out of range: {j} (array length is {n})")
        return seq[j]

    return _FLOAT, fetch


def _compile_call(node: _Call, rtype: str) -> tuple[str, _Fn]:
    atype, fn = _compile(node.args[0], rtype)
    if node.name == "len":
        if atype != _LIST:
            raise _fail(f"invalid argument for len (type {atype})", node.pos)
        return _INT, lambda r: len(fn(r))
    if atype not in _NUMBERS:
        raise _fail(f"cannot use {atype} as argument (type float64) to call {node.name}", node.pos)
    test = math.isnan if node.name == "isNaN" else math.isinf
    arg = _as_float(atype, fn)
    return _BOOL, lambda r: test(arg(r))


def _compile_binary(node: _Binary, rtype: str) -> tuple[str, _Fn]:
    op = node.op
    lt, lf = _compile(node.left, rtype)
    rt, rf = _compile(node.right, rtype)
    if op in ("&&", "and", "||", "or"):
        if lt != _BOOL or rt != _BOOL:
            raise _mismatch(node, op, lt, rt)
        if op in ("&&", "and"):
            return _BOOL, lambda r: lf(r) and rf(r)
        return _BOOL, lambda r: lf(r) or rf(r)
    if op in ("==", "!="):
        return _BOOL, _compile_equality(node, lt, lf, rt, rf)
    if op == "in":
        if rt != _LIST:
            raise _mismatch(node, op, lt, rt)
        if lt not in _NUMBERS:
            raise _fail(f"cannot use {lt} as type float64 in array", node.pos)
        needle = _as_float(lt, lf)
        return _BOOL, lambda r: _contains(rf(r), needle(r))
    if lt not in _NUMBERS or rt not in _NUMBERS:
        raise _mismatch(node, op, lt, rt)
    mixed = lt != rt
    a = _as_float(lt, lf) if mixed else lf
    b = _as_float(rt, rf) if mixed else rf
    if op in _ORDERING:
        return _BOOL, {
            "<": lambda r: a(r) < b(r),
            ">": lambda r: a(r) > b(r),
            "<=": lambda r: a(r) <= b(r),
            ">=": lambda r: a(r) >= b(r),
        }[op]
    if op == "/":
        fa, fb = _as_float(lt, lf), _as_float(rt, rf)
        return _FLOAT, lambda r: _go_divide(fa(r), fb(r))
    if lt == rt == _INT:
        return _INT, {
            "+": lambda r: _wrap_int64(a(r) + b(r)),
            "-": lambda r: _wrap_int64(a(r) - b(r)),
            "*": lambda r: _wrap_int64(a(r) * b(r)),
        }[op]
    return _FLOAT, {
        "+": lambda r: a(r) + b(r),
        "-": lambda r: a(r) - b(r),
        "*": lambda r: a(r) * b(r),
    }[op]


def _compile_equality(node: _Binary, lt: str, lf: _Fn, rt: str, rf: _Fn) -> _Fn:
    if lt in _NUMBERS and rt in _NUMBERS:
        a = _as_float(lt, lf) if lt != rt else lf
        b = _as_float(rt, rf) if lt != rt else rf
        eq: _Fn = lambda r: a(r) == b(r)  # noqa: E731
    elif lt == rt == _BOOL:
        eq = lambda r: lf(r) == rf(r)  # noqa: E731
    elif lt == rt == _LIST:
        eq = lambda r: _list_equal(lf(r), rf(r))  # noqa: E731
    else:
        raise _mismatch(node, node.op, lt, rt)
    if node.op == "==":
        return eq
    return lambda r: not eq(r)


# -------------------------------------------------------------------------------------------
# Public API


def _classify(result: object) -> tuple[str, Any]:
    """Return ``(go type name, canonical value)`` of a measurement value."""
    if isinstance(result, bool):
        return _BOOL, result
    if isinstance(result, Real):
        return _FLOAT, float(result)
    items: object = result
    if hasattr(result, "__array__") and hasattr(result, "tolist"):
        items = result.tolist()
    if isinstance(items, Sequence) and not isinstance(items, (str, bytes)):
        values = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, Real):
                raise ValueError(f"result: list elements must be numbers, got {item!r}")
            values.append(float(item))
        return _LIST, tuple(values)
    raise ValueError(
        f"result: must be a number, a bool or a list of numbers, got {type(result).__name__}"
    )


def coerce_result(result: object) -> float | bool | tuple[float, ...]:
    """Check a measurement value and return it in canonical form.

    Numbers become floats (Prometheus hands Argo ``float64`` values), lists
    become tuples of floats, bools stay bools.

    Args:
        result: The measured value.

    Returns:
        The value as a float, a bool, or a tuple of floats.

    Raises:
        ValueError: if ``result`` is none of those (``None`` included: the
            Prometheus provider never produces nil).

    """
    return _classify(result)[1]


class Condition:
    """A parsed condition, ready to evaluate against many measurements.

    Build one with :func:`parse`. The tree is type-checked and compiled once
    per kind of ``result`` (float, bool, list) the first time it meets one.
    """

    __slots__ = ("_compiled", "_root", "text")

    def __init__(self, text: str, root: _Node) -> None:
        self.text = text
        self._root = root
        self._compiled: dict[str, _Fn | str] = {}

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    def evaluate(self, result: ResultValue) -> bool:
        """Evaluate the condition with ``result`` bound to the measurement.

        Mirrors: ``argoproj/argo-rollouts utils/evaluate/evaluate.go EvalCondition``.

        Args:
            result: The measured value: a float, a bool, or a list of floats
                (an instant vector, empty when the query matched nothing).

        Returns:
            The condition's truth value.

        Raises:
            ConditionError: on a type error for this kind of ``result``, a
                non-bool final value, or an index out of range.
            ValueError: if ``result`` is not a number, bool or list of numbers.

        """
        rtype, value = _classify(result)
        fn = self._compiled.get(rtype)
        if fn is None:
            try:
                otype, fn = _compile(self._root, rtype)
                if otype != _BOOL:
                    raise ConditionError(f"expected bool, but got {otype}")
            except ConditionError as exc:
                fn = str(exc)
            self._compiled[rtype] = fn
        if isinstance(fn, str):
            raise ConditionError(fn)
        return fn(value)


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Condition | str:
    if len(text) > MAX_LENGTH:
        return f"condition is longer than {MAX_LENGTH} characters"
    try:
        return Condition(text, _Parser(_tokenize(text)).parse())
    except ConditionError as exc:
        return str(exc)


def parse(text: str) -> Condition:
    """Parse a ``successCondition`` or ``failureCondition``.

    Results are cached on the text, so parsing the same condition for every
    measurement of a run costs a dictionary lookup.

    Args:
        text: The expression, e.g. ``"result[0] >= 0.95"``.

    Returns:
        The parsed :class:`Condition`.

    Raises:
        ConditionError: on a syntax error, an unknown name, an unsupported
            construct, text longer than :data:`MAX_LENGTH` or nesting deeper
            than :data:`MAX_DEPTH`; or if ``text`` is not a string.

    """
    if not isinstance(text, str):
        raise ConditionError(f"condition must be a string, got {type(text).__name__}")
    parsed = _parse_cached(text)
    if isinstance(parsed, str):
        raise ConditionError(parsed)
    return parsed


def evaluate(text: str, result: ResultValue) -> bool:
    """Parse (cached) and evaluate a condition in one call.

    Mirrors: ``argoproj/argo-rollouts utils/evaluate/evaluate.go EvalCondition``.

    Args:
        text: The expression.
        result: The measured value (see :meth:`Condition.evaluate`).

    Returns:
        The condition's truth value.

    Raises:
        ConditionError: on any parse or evaluation error.
        ValueError: if ``result`` is not a number, bool or list of numbers.

    """
    return parse(text).evaluate(result)
