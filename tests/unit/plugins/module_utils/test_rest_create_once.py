"""The one create-once rule (plugins/module_utils/rest.py ``JsonClient.create_once``), without HTTP.

The POST and the look-up are plain functions here; ``ApiError.maybe_applied`` is what the client
sets after a 5xx or no answer to a POST (tests/emulated/test_rest_client.py proves that over HTTPS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError, JsonClient, RetryPolicy


def client(sleeps: list[float]) -> JsonClient:
    return JsonClient("https://api.invalid", timeout=7, retry=RetryPolicy(max_delay=5, sleep=sleeps.append))


def failing(error: ApiError, posts: list[int]) -> Callable[[], Any]:
    def post() -> Any:
        posts.append(1)
        raise error

    return post


def finder(answers: list[Any]) -> Callable[[], Any]:
    return lambda: answers.pop(0)


def test_a_create_that_succeeds_is_returned_with_no_lookup() -> None:
    assert client([]).create_once(lambda: {"id": 1}, finder([]), "thing") == ({"id": 1}, None)


def test_an_error_that_was_not_applied_is_raised_as_is() -> None:
    error = ApiError("POST /x: unprocessable", status=422)
    with pytest.raises(ApiError) as raised:
        client([]).create_once(failing(error, []), finder([]), "thing")
    assert raised.value is error


def test_after_a_5xx_the_object_is_looked_up_once_and_never_posted_again() -> None:
    posts: list[int] = []
    sleeps: list[float] = []
    error = ApiError("POST /x: HTTP 500", status=500, maybe_applied=True)
    with pytest.raises(ApiError) as raised:
        client(sleeps).create_once(failing(error, posts), finder([None]), "thing t1")
    assert (
        raised.value.message
        == "POST /x: HTTP 500; thing t1 does not exist afterwards, so nothing was created: run again"
    )
    assert posts == [1] and sleeps == []


def test_after_no_answer_it_is_looked_up_three_times_one_capped_timeout_apart() -> None:
    sleeps: list[float] = []
    error = ApiError("POST /x: timed out", maybe_applied=True)
    found, lost = client(sleeps).create_once(failing(error, []), finder([None, None, {"id": 2}]), "thing")
    assert found == {"id": 2} and lost is error
    assert sleeps == [5, 5]  # min(timeout 7, max_delay 5), before the 2nd and 3rd look-up


def test_after_no_answer_and_no_object_it_fails_asking_to_run_again() -> None:
    posts: list[int] = []
    error = ApiError("POST /x: timed out", maybe_applied=True)
    with pytest.raises(ApiError, match="nothing was created: run again"):
        client([]).create_once(failing(error, posts), finder([None, [], None]), "thing")
    assert posts == [1]
