"""The hour buckets are made from the 5-minute ones and hold what they would hold made
from the raw points (a mean weighted by each bucket's count, the extremes, the last);
an hour whose 5-minute buckets predate their counts is made from the raw points."""

from __future__ import annotations

import pytest

from ingest.storage.influx import InfluxClient
from ingest.storage.rollups import ROLLUP_OF

HOUR_S = 7_200 * 240_000  # an hour of 2023, whole
POWER = [100.0, 100.0, 100.0, 400.0, 250.5, 90.0, 1200.0]  # uneven: 3 in one bucket


def _raw(client: InfluxClient) -> None:
    """Electricity of one meter: 3 readings in the first 5 minutes, then 1 per bucket."""
    seconds = [0, 60, 120, 600, 1800, 2400, 3540]
    client.write(
        "\n".join(
            f"electricity,device=m-1,site=s energy_kwh={10 + i}.5,power_w={power} "
            f"{(HOUR_S + second) * 1000}"
            for i, (second, power) in enumerate(zip(seconds, POWER, strict=True))
        ).encode()
    )


def _hour_row(client: InfluxClient) -> dict[str, object]:
    [row] = client.query(f'SELECT * FROM "electricity_1h" WHERE time = {HOUR_S}s')
    return row


def _expected(client: InfluxClient) -> dict[str, object]:
    [row] = client.query(
        'SELECT last("energy_kwh") AS "energy_kwh", mean("power_w") AS "power_w", '
        'max("power_w") AS "power_w_max" FROM "electricity" '
        f"WHERE time >= {HOUR_S}s AND time < {HOUR_S + 3600}s"
    )
    return row


def test_the_hour_made_from_five_minute_buckets_is_the_raw_hour(client: InfluxClient) -> None:
    _raw(client)
    rollup = ROLLUP_OF["electricity"]
    assert rollup.compute(client, "5m", HOUR_S, HOUR_S + 3600) == 5  # buckets with data
    assert rollup.compute(client, "1h", HOUR_S, HOUR_S + 3600) == 1
    row, expected = _hour_row(client), _expected(client)
    assert row["power_w"] == pytest.approx(sum(POWER) / len(POWER))  # not a mean of means
    assert row["power_w"] == pytest.approx(expected["power_w"])
    assert (row["energy_kwh"], row["power_w_max"]) == (16.5, 1200.0)
    assert "power_w_n" not in row or row["power_w_n"] is None  # counts stay in 5 minutes
    [first] = client.query(f'SELECT * FROM "electricity_5m" WHERE time = {HOUR_S}s')
    assert (first["power_w_n"], first["power_w_sum"]) == (3, 300.0)


def test_an_hour_of_buckets_without_counts_is_made_from_the_raw_points(
    client: InfluxClient,
) -> None:
    _raw(client)
    # The 5-minute buckets as an older version wrote them: means, no sums nor counts.
    for bucket in client.series(
        'SELECT mean("power_w") AS "power_w" FROM "electricity" '
        f"WHERE time >= {HOUR_S}s AND time < {HOUR_S + 3600}s GROUP BY time(5m) fill(none)"
    ):
        client.write(
            "\n".join(
                f"electricity_5m,device=m-1,site=s power_w={mean} {int(ts)}"
                for ts, mean in bucket.values
            ).encode()
        )
    ROLLUP_OF["electricity"].compute(client, "1h", HOUR_S, HOUR_S + 3600)
    assert _hour_row(client)["power_w"] == pytest.approx(sum(POWER) / len(POWER))
