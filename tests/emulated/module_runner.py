"""Run Ansible modules in-process the way they run on a target."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from ansible.module_utils import _internal


@contextmanager
def as_target() -> Iterator[None]:
    """A module's warnings belong in its result.

    Once controller code is imported in the test process (a filter plugin test imports
    ``ansible.errors``), ``module_utils`` believes it runs on the controller and sends warnings
    to the display instead of the module result. Pin the module's view for the call.
    """
    with mock.patch.object(_internal, "is_controller", False):
        yield
