"""Tests for simdeploy.rules.condition (Argo's successCondition/failureCondition language).

Cases are re-expressed from argoproj/argo-rollouts utils/evaluate/evaluate_test.go and
metricproviders/prometheus/prometheus_test.go (test names in comments), and from the
expr-lang v1.17 sources Argo pins (checker/checker.go, parser/parser.go,
parser/lexer/state.go, vm/runtime), cited per case.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdeploy.rules import condition
from simdeploy.rules.condition import (
    MAX_DEPTH,
    MAX_LENGTH,
    Condition,
    ConditionError,
    coerce_result,
    evaluate,
    parse,
)

NAN = math.nan
INF = math.inf

# --------------------------------------------------------------------------------------------
# Upstream: evaluate_test.go and prometheus_test.go


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        # evaluate_test.go TestEvaluateConditionWithSuccess / ...WithFailure
        ("result == true", True, True),
        ("result == false", True, False),
        # evaluate_test.go TestEvaluateResultWithSuccess etc. (literal conditions)
        ("true", True, True),
        ("false", True, False),
        # evaluate_test.go TestEvaluateInOperator
        ("2 in result", [2.0, 2.0], True),
        # evaluate_test.go TestEvaluateFloat64
        ("result > 1", 5.0, True),
        # prometheus_test.go TestRunSuccessfully / TestProcessScalarResponse
        ("result == 10", 10.0, True),
        ("result != 10", 10.0, False),
        # prometheus_test.go TestProcessNaNResponse: NaN is neither >= nor < 0.9
        ("result >= 0.9", NAN, False),
        ("result < 0.9", NAN, False),
        ("result >= 0.9 || isNaN(result)", NAN, True),
        # prometheus_test.go TestProcessInfResponse
        ("result >= 0.9", INF, True),
        ("isInf(result)", INF, True),
        # evaluate_test.go TestIsInf
        ("isInf(result)", 0.0, False),
        # prometheus_test.go TestProcessVectorResponse
        ("10 in result", [10.0, 11.0], True),
        ("len(result) != 2", [10.0, 11.0], False),
        # prometheus_test.go TestRunSuccessfulWithOAuth (vector of one series)
        ("result[0] == 10", [10.0], True),
        ("result[0] != 10", [10.0], False),
    ],
)
def test_upstream_conditions(text, result, expected):
    assert evaluate(text, result) is expected


@pytest.mark.parametrize(
    ("text", "result", "message"),
    [
        # evaluate_test.go TestErrorWithNonBoolReturn: "expected bool, but got int"
        ("1", True, "expected bool, but got int"),
        # evaluate_test.go TestErrorWithInvalidReference: "unknown name invalidVariable"
        ("invalidVariable", True, "unknown name invalidVariable"),
        # evaluate_test.go invalidRefCondition
        ("a == true", True, "unknown name a"),
        # evaluate_test.go TestEvaluateInvalidStruct (member access and strings are errors)
        ("result.Name() == 'hi'", True, "unsupported"),
        # evaluate_test.go TestEvaluateResultErrorMessageWithEmptySlice: no series matched
        ("result[0] >= 0.95", [], "index out of range: 0"),
    ],
)
def test_upstream_errors(text, result, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        evaluate(text, result)


# --------------------------------------------------------------------------------------------
# expr-lang semantics


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        # precedences: parser/operator/operator.go (! 50 binds tighter than == 20, && 15 > || 10)
        ("!true == false", 0.0, True),
        ("1 + 2 * 3 == 7", 0.0, True),
        ("(1 + 2) * 3 == 9", 0.0, True),
        ("2 - 1 - 1 == 0", 0.0, True),
        ("8 / 2 / 2 == 2", 0.0, True),
        ("-1 * 2 == -2", 0.0, True),
        ("- -1 == 1", 0.0, True),
        ("+1 == 1", 0.0, True),
        ("true || false && false", 0.0, True),
        ("(true || false) && false", 0.0, False),
        ("true or false and false", 0.0, True),
        ("(true or false) and false", 0.0, False),
        ("!(result > 1)", 0.5, True),
        # keyword spellings: and, or, not, not in (lexer/state.go, parser.go)
        ("result > 1 and result < 3", 2.0, True),
        ("result > 5 or result < 1", 2.0, False),
        ("not (result > 1)", 2.0, False),
        ("2 not in result", [1.0], True),
        ("1 not in result", [1.0], False),
        # a < b < c is a < b && b < c (parser.go parseComparison)
        ("1 < result < 3", 2.0, True),
        ("1 < result < 3", 3.0, False),
        ("0 <= result <= 1", 1.0, True),
        ("1 < 2 == true", 0.0, True),
        # "/" always gives float64 and follows IEEE 754 (vm/runtime Divide)
        ("1 / 2 == 0.5", 0.0, True),
        ("1 / 0 > 1e300", 0.0, True),
        ("-1 / 0 < -1e300", 0.0, True),
        ("isNaN(0 / 0)", 0.0, True),
        ("isInf(result / 0)", 3.0, True),
        # Go int arithmetic wraps at 64 bits
        ("9223372036854775807 + 1 < 0", 0.0, True),
        ("-9223372036854775807 - 2 > 0", 0.0, True),
        # ints and floats compare numerically (vm/runtime Equal, Less)
        ("result == 1", 1.0, True),
        ("1 == 1.0", 0.0, True),
        # integer literals convert to float for a float64 parameter (checker.go checkArguments)
        ("isNaN(1)", 0.0, False),
        # IEEE comparisons: NaN is unequal to itself, ordered comparisons are false
        ("result == result", NAN, False),
        ("result != result", NAN, True),
        ("result <= result", NAN, False),
        ("result == result", [1.0, NAN], False),
        ("result == result", [1.0, 2.0], True),
        ("1 in result", [NAN, 1.0], True),
        ("result[0] in result", [NAN], False),
        # negative indices count from the end (vm/runtime Fetch)
        ("result[-1] == 11", [10.0, 11.0], True),
        ("result[1 - 2] == 11", [10.0, 11.0], True),
        ("result[len(result) - 1] == 11", [10.0, 11.0], True),
        # runtime errors respect short-circuiting: the safe spelling for an empty vector
        ("len(result) > 0 && result[0] > 1", [], False),
        ("len(result) == 0 || result[0] > 1", [], True),
        ("false and result[5] > 1", [1.0], False),
        # number literals (lexer/state.go scanNumber, parser.go)
        ("1_000 == 1000", 0.0, True),
        ("0x1F == 31", 0.0, True),
        ("0b101 == 5", 0.0, True),
        ("0o17 == 15", 0.0, True),
        (".5 == 0.5", 0.0, True),
        ("1. == 1", 0.0, True),
        ("1e3 == 1000", 0.0, True),
        ("1.5E-1 == 0.15", 0.0, True),
        ("007 == 7", 0.0, True),
        # whitespace is free
        ("  result\t>\n0.5 ", 1.0, True),
        ("(((result)))>1", 2.0, True),
        # bool results
        ("!result", False, True),
        ("result && true", True, True),
        ("result != false", True, True),
    ],
)
def test_expr_semantics(text, result, expected):
    assert evaluate(text, result) is expected


@pytest.mark.parametrize(
    ("text", "result", "message"),
    [
        # static type errors, even in a branch that would short-circuit (checker.go)
        ("result[0] > 1", 1.0, "type float64[int] is undefined"),
        ("true || result[0] > 1", 1.0, "type float64[int] is undefined"),
        ("result < 1", [1.0], "mismatched types []float64 and int"),
        ("result == 10", [10.0], "mismatched types []float64 and int"),
        ("result == true", 1.0, "mismatched types float64 and bool"),
        ("1 && true", 0.0, "mismatched types int and bool"),
        ("false && 1", 0.0, "mismatched types bool and int"),
        ("!1", 0.0, "invalid operation: ! (mismatched type int)"),
        ("not 1 < 2", 0.0, "invalid operation: not (mismatched type int)"),
        ("-true", 0.0, "invalid operation: - (mismatched type bool)"),
        ("result + 1 > 0", True, "mismatched types bool and int"),
        ("len(result) > 0", 1.0, "invalid argument for len (type float64)"),
        ("isNaN(result)", [1.0], "cannot use []float64 as argument"),
        ("isInf(true)", 0.0, "cannot use bool as argument"),
        ("result[0.5] > 1", [1.0], "only be selected using an integer (got float64)"),
        ("result[true] > 1", [1.0], "only be selected using an integer (got bool)"),
        ("1 in result", 1.0, "invalid operation: in (mismatched types int and float64)"),
        ("true in result", [1.0], "cannot use bool as type float64 in array"),
        # the value must be a bool (evaluate.go EvalCondition)
        ("result", 1.0, "expected bool, but got float64"),
        ("result", [1.0], "expected bool, but got []float64"),
        ("1 + 1", 0.0, "expected bool, but got int"),
        ("1 / 2", 0.0, "expected bool, but got float64"),
        ("len(result)", [1.0], "expected bool, but got int"),
        # runtime: index out of range, after counting negative indices from the end
        ("result[1] > 0", [1.0], "index out of range: 1 (array length is 1)"),
        ("result[-2] > 0", [1.0], "index out of range: -1 (array length is 1)"),
        ("result[0] > 0", [], "index out of range: 0 (array length is 0)"),
    ],
)
def test_expr_errors(text, result, message):
    with pytest.raises(ConditionError, match=re.escape(message)):
        evaluate(text, result)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "result >",
        "(result > 1",
        "result > 1)",
        "result >> 1",
        "result > > 1",
        "1 2",
        "result[0",
        "result[]",
        "not",
        "result not 1",
        "len(result,)",
        # names and functions outside the supported set
        "foo > 1",
        "True",
        "nil == result",
        "isNaN",
        "all(result, # > 1)",
        "abs(result) > 1",
        "asInt(result) == 1",
        # unsupported operators and literals
        "result = 1",
        "result % 2 == 0",
        "result ** 2 > 1",
        "result ^ 2 > 1",
        "result > 1 ? true : false",
        "result ?? 1",
        "result.foo > 1",
        "result[0:1] == result",
        "[1, 2] == result",
        "'a' == 'a'",
        '"a" == "a"',
        "result & true",
        "result | true",
        "1..3",
        "{}",
        "é > 1",
        "résult > 1",
        # bad literals: expr-lang rejects them at parse time
        "1e",
        "1e+",
        "1e400 > 0",
        "9223372036854775808 > 0",
        "0x",
        "1abc",
        "1.5.2",
        # arity is checked when parsing
        "len() > 0",
        "isNaN(result, result)",
    ],
)
def test_parse_errors(text):
    with pytest.raises(ConditionError):
        parse(text)


def test_parse_error_message_is_one_line_with_column():
    with pytest.raises(ConditionError) as info:
        parse("result >\n)")
    message = str(info.value)
    assert "\n" not in message
    assert "column 10" in message


# --------------------------------------------------------------------------------------------
# Guards against pathological input


def test_length_cap():
    ok = "result > 1" + " " * (MAX_LENGTH - 10)
    assert parse(ok).evaluate(2.0) is True
    with pytest.raises(ConditionError, match="longer than"):
        parse(ok + " ")


@pytest.mark.parametrize(
    "text",
    [
        "(" * 200 + "result" + ")" * 200 + " > 1",
        "!" * 500 + "true",
        "-" * 500 + "1 > 0",
        "1" + " + 1" * 500 + " > 0",
        "result[" * 100 + "0" + "]" * 100 + " > 0",
        "isNaN(" * 100 + "1" + ")" * 100,
    ],
)
def test_deep_nesting_is_a_condition_error(text):
    with pytest.raises(ConditionError, match="nested"):
        parse(text)


def test_nesting_within_the_limit_works():
    depth = MAX_DEPTH // 2 - 2
    text = "(" * depth + "result" + ")" * depth + " > 1"
    assert evaluate(text, 2.0) is True


# --------------------------------------------------------------------------------------------
# API details


def test_parse_is_cached():
    assert parse("result > 0.123") is parse("result > 0.123")
    assert isinstance(parse("result > 0.123"), Condition)
    assert repr(parse("result > 0.123")) == "Condition('result > 0.123')"


def test_parse_errors_are_cached_and_reraised():
    for _ in range(2):
        with pytest.raises(ConditionError, match="unknown name"):
            parse("nope > 1")


def test_type_errors_depend_on_the_result_kind():
    cond = parse("result[0] > 0.5")
    assert cond.evaluate([0.9]) is True
    with pytest.raises(ConditionError):
        cond.evaluate(0.9)
    assert cond.evaluate([0.1]) is False  # the cached error for floats does not leak


def test_parse_rejects_non_strings():
    with pytest.raises(ConditionError, match="must be a string"):
        parse(None)  # type: ignore[arg-type]
    with pytest.raises(ConditionError, match="must be a string"):
        parse(True)  # type: ignore[arg-type]


def test_condition_error_is_a_value_error():
    assert issubclass(ConditionError, ValueError)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (1, 1.0),
        (0.5, 0.5),
        (True, True),
        ([1, 2.5], (1.0, 2.5)),
        ((3,), (3.0,)),
        ([], ()),
    ],
)
def test_coerce_result(result, expected):
    value = coerce_result(result)
    assert value == expected
    assert type(value) is type(expected)


def test_coerce_result_accepts_numpy():
    np = pytest.importorskip("numpy")
    assert coerce_result(np.float64(0.5)) == 0.5
    assert coerce_result(np.array([1.0, 2.0])) == (1.0, 2.0)
    assert evaluate("result[1] == 2", np.array([1.0, 2.0])) is True


@pytest.mark.parametrize("result", [None, "0.5", {"a": 1}, [1, "a"], [True], [[1.0]], b"1"])
def test_bad_results_are_value_errors_not_condition_errors(result):
    with pytest.raises(ValueError, match="result") as info:
        evaluate("true", result)
    assert not isinstance(info.value, ConditionError)


def test_no_python_eval_in_the_module():
    source = Path(condition.__file__).read_text()
    assert not re.search(r"\b(eval|exec|compile|literal_eval|__import__)\(", source)


# --------------------------------------------------------------------------------------------
# Properties

_ALPHABET = "result()[]<>=!&|+-*/%.,0123456789eEx_ \tinotandlsfu#?:'\"$é"
_RESULTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
)


@given(st.one_of(st.text(max_size=60), st.text(alphabet=_ALPHABET, max_size=60)), _RESULTS)
def test_only_condition_errors_escape(text, result):
    try:
        cond = parse(text)
    except ConditionError:
        return
    try:
        value = cond.evaluate(result)
    except ConditionError:
        return
    assert value is True or value is False


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(sorted(_OPS)),
)
def test_comparisons_follow_ieee754(a, b, op):
    assert evaluate(f"result[0] {op} result[1]", [a, b]) is _OPS[op](a, b)


@given(
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
)
def test_integer_arithmetic_precedence(a, b, c):
    # * binds tighter than + and -, both left-associative; unary minus on literals
    expected = a - b * c + a
    assert evaluate(f"{a} - {b} * {c} + {a} == {expected}", 0.0) is True


@given(st.sampled_from(["result > 0.5", "isNaN(result)", "result != result"]), _RESULTS)
def test_double_negation(text, result):
    try:
        value = evaluate(text, result)
    except ConditionError:
        with pytest.raises(ConditionError):
            evaluate(f"!!({text})", result)
        return
    assert evaluate(f"!!({text})", result) is value
    assert evaluate(f"not ({text})", result) is (not value)
