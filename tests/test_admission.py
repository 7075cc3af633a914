"""Admission control's pure part: how far behind the streams are, and when producers must wait."""

from __future__ import annotations

import pytest

from hub.admission import Backlog, Limits, backlog, hub_pressure, lower_median, pressure

LIMITS = Limits(fill=0.25, lag=0.5, hold=2.0)


@pytest.mark.parametrize(
    ("values", "median"),
    [([], 0.0), ([0.7], 0.7), ([0.0, 1.0], 0.0), ([0.3, 0.1, 0.2], 0.2), ([4, 1, 3, 2], 2)],
)
def test_the_lower_median_lets_the_reading_stream_of_two_speak(values: list[float], median: float) -> None:
    assert lower_median(values) == median


def test_a_lone_stalled_stream_among_readers_puts_no_pressure() -> None:
    measured = backlog([0.0, 0.05, 0.0, 1.0], [0.0, 0.01, 0.0, 9.0], reader_lag=0.0)
    assert measured == Backlog(streams=4, fill=0.0, age=0.0, reader_lag=0.0)
    assert pressure(measured, LIMITS) == 0.0


def test_most_streams_behind_is_pressure_by_whichever_limit_is_nearest() -> None:
    by_fill = backlog([0.3, 0.3, 0.3], [0.1, 0.1, 0.1], reader_lag=0.0)
    assert pressure(by_fill, LIMITS) == pytest.approx(1.2)
    by_age = backlog([0.1, 0.1], [0.75, 0.75], reader_lag=0.0)
    assert pressure(by_age, LIMITS) == pytest.approx(1.5)
    by_readers = backlog([], [], reader_lag=1.0)
    assert by_readers.streams == 0 and pressure(by_readers, LIMITS) == pytest.approx(2.0)


def test_a_negative_reader_lag_counts_as_none() -> None:
    assert backlog([], [], reader_lag=-0.2).reader_lag == 0.0


def test_the_hub_is_as_pressed_as_its_most_pressed_process() -> None:
    assert hub_pressure(0.2, []) == 0.2
    assert hub_pressure(0.2, [1.4, 0.5]) == 1.4
    assert hub_pressure(1.1, (0.0,)) == 1.1
