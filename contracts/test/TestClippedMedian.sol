// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ClippedMedian} from "../alignment/libraries/ClippedMedian.sol";

/**
 * @title TestClippedMedian
 * @notice Test harness of the ClippedMedian library: one histogram, votes added with weights.
 * @dev For tests only.
 */
contract TestClippedMedian {
    using ClippedMedian for ClippedMedian.Histogram;

    ClippedMedian.Histogram private _histogram;

    /// @notice Adds `weights[i]` at `scores[i]` for every i.
    function addAll(uint256[] calldata scores, uint256[] calldata weights) external {
        for (uint256 i = 0; i < scores.length; ++i) _histogram.add(scores[i], weights[i]);
    }

    /// @notice Opens the histogram afresh (empty).
    function reset() external {
        _histogram.open();
    }

    /// @notice The lower weighted median and the total weight.
    function median() external view returns (uint256 m, uint256 sum) {
        return ClippedMedian.median(_histogram.load());
    }

    /// @notice The weight within `clip` of `m`.
    function weightWithin(uint256 m, uint256 clip) external view returns (uint256) {
        return ClippedMedian.weightWithin(_histogram.load(), m, clip);
    }

    /// @notice The weight at `score`.
    function weightAt(uint256 score) external view returns (uint256) {
        return ClippedMedian.weightAt(_histogram.load(), score);
    }
}
