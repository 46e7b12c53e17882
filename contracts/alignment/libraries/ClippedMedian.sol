// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Slots of a ClippedMedian histogram (101 buckets, 8 per slot); a file-level constant so that other
/// contracts can size arrays with it.
uint256 constant HISTOGRAM_SLOTS = 13;

/**
 * @title ClippedMedian
 * @notice Scores from 0 to 100 with integer weights, kept as a histogram: 101 buckets of 32 bits, 8 to a slot, in
 * 13 slots. Adding a vote writes one slot; the weighted median and the weight near it read all 13 once, whatever
 * the number of voters.
 * @dev The outcome is the lower weighted median (Yuma consensus at κ = 0.5): the least score `m` whose cumulative
 * weight `W(≤ m)` is at least half the total, `2·W(≤ m) ≥ W`. A tie (exactly half on each side) goes to the lower
 * score. With honest weight `H > W/2`, `m` lies in `[min honest score, max honest score]`: every score below the
 * honest minimum has at most `W − H < W/2` weight at or below it, and at the honest maximum `W(≤ ·) ≥ H > W/2`.
 */
library ClippedMedian {
    /// @notice The highest score.
    uint256 internal constant MAX_SCORE = 100;
    /// @notice Slots of a histogram (101 buckets, 8 per slot).
    uint256 internal constant SLOTS = HISTOGRAM_SLOTS;
    uint256 private constant _PER_SLOT = 8;
    uint256 private constant _BITS = 32;
    uint256 private constant _MASK = 0xffffffff;

    /// @notice Thrown when a score is above 100.
    error ClippedMedianInvalidScore(uint256 score);
    /// @notice Thrown when a bucket's weight would pass 2^32 − 1.
    error ClippedMedianOverflow(uint256 score);

    /// @notice A histogram of scores: bucket `s` is bits `32·(s % 8)` to `32·(s % 8) + 31` of slot `s / 8`.
    struct Histogram {
        uint256[HISTOGRAM_SLOTS] slots;
    }

    /// @notice Adds `weight` to bucket `score`.
    function add(Histogram storage h, uint256 score, uint256 weight) internal {
        if (score > MAX_SCORE) revert ClippedMedianInvalidScore(score);
        uint256 shift = (score % _PER_SLOT) * _BITS;
        uint256 word = h.slots[score / _PER_SLOT];
        if (((word >> shift) & _MASK) + weight > _MASK) revert ClippedMedianOverflow(score);
        // unchecked: the bucket stays below 2^32 (checked above), so the addition stays in its 32 bits.
        unchecked {
            h.slots[score / _PER_SLOT] = word + (weight << shift);
        }
    }

    /// @notice The histogram's 13 slots, read once.
    function load(Histogram storage h) internal view returns (uint256[HISTOGRAM_SLOTS] memory slots) {
        return h.slots;
    }

    /// @notice The weight in bucket `score` of loaded slots.
    function weightAt(uint256[HISTOGRAM_SLOTS] memory slots, uint256 score) internal pure returns (uint256) {
        return (slots[score / _PER_SLOT] >> ((score % _PER_SLOT) * _BITS)) & _MASK;
    }

    /// @notice The total weight of loaded slots.
    function total(uint256[HISTOGRAM_SLOTS] memory slots) internal pure returns (uint256 sum) {
        for (uint256 i = 0; i < SLOTS; ++i) sum += _slotSum(slots[i]);
    }

    /**
     * @notice The lower weighted median of loaded slots and their total weight: the least `m` with
     * `2·W(≤ m) ≥ W`; 0 when the histogram is empty.
     */
    function median(uint256[HISTOGRAM_SLOTS] memory slots) internal pure returns (uint256 m, uint256 sum) {
        sum = total(slots);
        if (sum == 0) return (0, 0);
        uint256 cumulative = 0;
        for (uint256 i = 0; i < SLOTS; ++i) {
            uint256 word = slots[i];
            // Skip a whole slot when it does not reach the half.
            uint256 slotSum = _slotSum(word);
            if (2 * (cumulative + slotSum) < sum) {
                cumulative += slotSum;
                continue;
            }
            for (uint256 j = 0; j < _PER_SLOT; ++j) {
                cumulative += (word >> (j * _BITS)) & _MASK;
                if (2 * cumulative >= sum) return (i * _PER_SLOT + j, sum);
            }
        }
        // Unreachable: the cumulative weight reaches the total at the last bucket.
        return (MAX_SCORE, sum);
    }

    /// @notice The weight with a score in `[m − clip, m + clip]` (clamped to `[0, 100]`) of loaded slots.
    function weightWithin(
        uint256[HISTOGRAM_SLOTS] memory slots,
        uint256 m,
        uint256 clip
    ) internal pure returns (uint256 sum) {
        uint256 lo = m > clip ? m - clip : 0;
        uint256 hi = m + clip > MAX_SCORE ? MAX_SCORE : m + clip;
        for (uint256 s = lo; s <= hi; ++s) sum += weightAt(slots, s);
    }

    /// @notice Whether `score` is within `clip` of `m`.
    function within(uint256 score, uint256 m, uint256 clip) internal pure returns (bool) {
        return score > m ? score - m <= clip : m - score <= clip;
    }

    /// @dev The sum of a slot's eight 32-bit buckets (below 2^35: no overflow).
    function _slotSum(uint256 word) private pure returns (uint256 sum) {
        for (uint256 j = 0; j < _PER_SLOT; ++j) sum += (word >> (j * _BITS)) & _MASK;
    }
}
