import dataclasses
import math

import pytest

from cloudedge.channel import (
    Channel,
    LinkType,
    link_type,
    path_loss_a2a_db,
    path_loss_g2a_db,
    path_loss_g2g_db,
)
from cloudedge.config import ChannelConfig, paper_scenario


def channel_config(**changes: float) -> ChannelConfig:
    """The paper scenario's channel with ``changes``."""
    return dataclasses.replace(paper_scenario().channel, **changes)


def test_g2g_path_loss_uses_kilometres() -> None:
    # 128.1 + 37.6 * log10(1) and 128.1 + 37.6 * log10(0.5) = 128.1 - 11.3187
    assert path_loss_g2g_db(1.0) == pytest.approx(128.1)
    assert path_loss_g2g_db(0.5) == pytest.approx(116.7813, abs=1e-4)


def test_g2a_and_a2a_path_loss() -> None:
    # 10 * 2.2 * log10(1000) + 34 = 66 + 34
    assert path_loss_g2a_db(1000.0, alpha=2.2, constant_db=34.0) == pytest.approx(100.0)
    assert path_loss_a2a_db(100.0, alpha=2.0) == pytest.approx(40.0)


def test_default_g2a_constant_follows_tr36777() -> None:
    assert channel_config(carrier_ghz=2.0).g2a_constant_resolved_db == pytest.approx(
        28.0 + 20.0 * math.log10(2.0)
    )


def test_link_type_by_heights() -> None:
    assert link_type(1.5, 30.0) is LinkType.G2G
    assert link_type(150.0, 30.0) is LinkType.G2A
    assert link_type(30.0, 150.0) is LinkType.G2A
    assert link_type(150.0, 200.0) is LinkType.A2A
    assert link_type(100.0, 1.5) is LinkType.G2A  # 100 m counts as air


def test_channel_picks_the_model_and_clamps_short_distances() -> None:
    channel = Channel(channel_config(min_distance_m=35.0))
    assert channel.path_loss_db(500.0, 1.5, 30.0) == pytest.approx(path_loss_g2g_db(0.5))
    assert channel.path_loss_db(1.0, 1.5, 30.0) == pytest.approx(path_loss_g2g_db(0.035))
    c = channel_config().g2a_constant_resolved_db
    assert channel.path_loss_db(800.0, 200.0, 30.0) == pytest.approx(
        path_loss_g2a_db(800.0, 2.2, c)
    )


def test_gain_noise_and_shannon_rate_by_hand() -> None:
    channel = Channel(channel_config(antenna_gain_db=5.0, noise_figure_db=9.0))
    assert channel.gain_db(path_loss_db=120.0, shadowing_db=3.0) == pytest.approx(-118.0)
    # -174 dBm/Hz + 60 dB (1 MHz) + 9 dB = -105 dBm
    assert channel.noise_dbm(1e6) == pytest.approx(-105.0)
    # SNR = 23 - 118 + 105 = 10 dB -> R = 1e6 * log2(11)
    assert channel.rate_bps(1e6, 23.0, -118.0) == pytest.approx(1e6 * math.log2(11.0))
    assert channel.rate_bps(0.0, 23.0, -118.0) == 0.0


def test_transmission_time() -> None:
    channel = Channel(channel_config())
    assert channel.transmission_time_s(400, 3200.0) == pytest.approx(1.0)
    assert channel.transmission_time_s(400, 0.0) == math.inf
