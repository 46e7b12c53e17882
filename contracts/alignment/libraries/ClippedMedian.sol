// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ClippedMedian
 * @notice Scores from 0 to 10 with integer weights, kept as a histogram in one storage slot: 11 buckets of 23 bits
 * (bits `23·s` to `23·s + 22` for score `s`), and bit 255 set when the histogram is opened, so that no vote ever
 * writes a fresh slot. Adding a vote rewrites that slot; the weighted median and the weight near it read it once,
 * whatever the number of voters.
 * @dev The outcome is the lower weighted median (Yuma consensus at κ = 0.5): the least score `m` whose cumulative
 * weight `W(≤ m)` is at least half the total, `2·W(≤ m) ≥ W`. A tie (exactly half on each side) goes to the lower
 * score. With honest weight `H > W/2`, `m` lies in `[min honest score, max honest score]`: every score below the
 * honest minimum has at most `W − H < W/2` weight at or below it, and at the honest maximum `W(≤ ·) ≥ H > W/2`.
 */
library ClippedMedian {
    /// @notice The highest score.
    uint256 internal constant MAX_SCORE = 10;
    uint256 private constant _BITS = 23;
    uint256 private constant _MASK = (1 << _BITS) - 1;
    uint256 private constant _OPENED = 1 << 255;

    /// @notice Thrown when a score is above `MAX_SCORE`.
    error ClippedMedianInvalidScore(uint256 score);
    /// @notice Thrown when a bucket's weight would pass 2^23 − 1.
    error ClippedMedianOverflow(uint256 score);

    /// @notice A histogram of scores in one slot (see the library's notice).
    struct Histogram {
        uint256 slot;
    }

    /// @notice Opens an empty histogram: marks its slot non-zero, so that the votes only rewrite it.
    function open(Histogram storage h) internal {
        h.slot = _OPENED;
    }

    /// @notice Adds `weight` to bucket `score`.
    function add(Histogram storage h, uint256 score, uint256 weight) internal {
        if (score > MAX_SCORE) revert ClippedMedianInvalidScore(score);
        uint256 shift = score * _BITS;
        uint256 word = h.slot;
        if (((word >> shift) & _MASK) + weight > _MASK) revert ClippedMedianOverflow(score);
        // unchecked: the bucket stays below 2^23 (checked above), so the addition stays in its 23 bits.
        unchecked {
            h.slot = word + (weight << shift);
        }
    }

    /// @notice The histogram's slot, read once.
    function load(Histogram storage h) internal view returns (uint256) {
        return h.slot;
    }

    /// @notice The weight in bucket `score` of a loaded slot.
    function weightAt(uint256 word, uint256 score) internal pure returns (uint256) {
        return (word >> (score * _BITS)) & _MASK;
    }

    /**
     * @notice The lower weighted median of a loaded slot and its total weight: the least `m` with
     * `2·W(≤ m) ≥ W`; 0 when the histogram is empty.
     */
    function median(uint256 word) internal pure returns (uint256 m, uint256 sum) {
        for (uint256 s = 0; s <= MAX_SCORE; ++s) sum += weightAt(word, s);
        if (sum == 0) return (0, 0);
        uint256 cumulative = 0;
        for (m = 0; m < MAX_SCORE; ++m) {
            cumulative += weightAt(word, m);
            if (2 * cumulative >= sum) break;
        }
    }

    /// @notice The weight with a score in `[m − clip, m + clip]` (clamped to `[0, MAX_SCORE]`) of a loaded slot.
    function weightWithin(uint256 word, uint256 m, uint256 clip) internal pure returns (uint256 sum) {
        uint256 lo = m > clip ? m - clip : 0;
        uint256 hi = m + clip > MAX_SCORE ? MAX_SCORE : m + clip;
        for (uint256 s = lo; s <= hi; ++s) sum += weightAt(word, s);
    }

    /// @notice Whether `score` is within `clip` of `m`.
    function within(uint256 score, uint256 m, uint256 clip) internal pure returns (bool) {
        return score > m ? score - m <= clip : m - score <= clip;
    }
}
