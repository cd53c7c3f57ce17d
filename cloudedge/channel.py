"""Wireless channel of PAPER.md section 4: path loss, gain and Shannon rate.

Units: distances in metres unless a name says km, powers in dBm, gains and losses in dB,
bandwidth in Hz, rates in bit/s.
"""

from __future__ import annotations

import math
from enum import Enum

from cloudedge.config import GROUND_AIR_BOUNDARY_M, ChannelConfig

SPEED_OF_LIGHT_MPS = 299_792_458.0
_LOG2_10 = math.log2(10.0)


class LinkType(Enum):
    """Which path-loss model applies, chosen by the heights of the two ends."""

    G2G = "ground-to-ground"
    G2A = "ground-to-air"
    A2A = "air-to-air"


def link_type(height_a_m: float, height_b_m: float) -> LinkType:
    """G2G when both ends are below 100 m, A2A when both are at or above it, else G2A."""
    a_air = height_a_m >= GROUND_AIR_BOUNDARY_M
    b_air = height_b_m >= GROUND_AIR_BOUNDARY_M
    if a_air and b_air:
        return LinkType.A2A
    if a_air or b_air:
        return LinkType.G2A
    return LinkType.G2G


def path_loss_g2g_db(distance_km: float) -> float:
    """``PL_G2G = 128.1 + 37.6 log10(d)``, d in km (3GPP urban macro form)."""
    return 128.1 + 37.6 * math.log10(distance_km)


def path_loss_g2a_db(distance_m: float, alpha: float, constant_db: float) -> float:
    """``PL_G2A = 10 alpha log10(d) + C``, d in m."""
    return 10.0 * alpha * math.log10(distance_m) + constant_db


def path_loss_a2a_db(distance_m: float, alpha: float) -> float:
    """``PL_A2A = 10 alpha log10(d)``, d in m (line of sight, no constant, as in the paper)."""
    return 10.0 * alpha * math.log10(distance_m)


class Channel:
    """Link budget between a terminal and a server under one :class:`ChannelConfig`.

    :param config: channel constants.
    """

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self._g2a_constant_db = config.g2a_constant_resolved_db

    def path_loss_db(self, distance_m: float, height_a_m: float, height_b_m: float) -> float:
        """Path loss of the model chosen by the two heights, at a clamped distance."""
        d_m = max(distance_m, self.config.min_distance_m)
        kind = link_type(height_a_m, height_b_m)
        if kind is LinkType.G2G:
            return path_loss_g2g_db(d_m / 1000.0)
        if kind is LinkType.G2A:
            return path_loss_g2a_db(d_m, self.config.g2a_alpha, self._g2a_constant_db)
        return path_loss_a2a_db(d_m, self.config.a2a_alpha)

    def gain_db(self, path_loss_db: float, shadowing_db: float) -> float:
        """``G = g - PL - X_sigma`` (dB)."""
        return self.config.antenna_gain_db - path_loss_db - shadowing_db

    def noise_dbm(self, bandwidth_hz: float) -> float:
        """Thermal noise power over ``bandwidth_hz`` including the receiver noise figure."""
        return (
            self.config.noise_psd_dbm_per_hz
            + 10.0 * math.log10(bandwidth_hz)
            + self.config.noise_figure_db
        )

    def rate_bps(self, bandwidth_hz: float, power_dbm: float, gain_db: float) -> float:
        """Shannon rate ``R = W log2(1 + Power * G / N)`` in bit/s; 0 for no bandwidth."""
        if bandwidth_hz <= 0.0:
            return 0.0
        snr_db = power_dbm + gain_db - self.noise_dbm(bandwidth_hz)
        if snr_db > 150.0:  # log2(1 + x) = log2(x) to 1e-15 here, and 10**x would overflow
            return bandwidth_hz * snr_db * _LOG2_10 / 10.0
        return bandwidth_hz * math.log2(1.0 + 10.0 ** (snr_db / 10.0))

    def transmission_time_s(self, n_bytes: float, rate_bps: float) -> float:
        """Time to send ``n_bytes`` at ``rate_bps``; infinite at rate 0."""
        if rate_bps <= 0.0:
            return math.inf
        return 8.0 * n_bytes / rate_bps
