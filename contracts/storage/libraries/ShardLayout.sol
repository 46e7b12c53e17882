// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/**
 * @title ShardLayout
 * @notice Which sectors of a file a storage shard holds. The log is cut into segments of 1024 sectors; segment
 * `g` belongs to shard `shardId` of `numShard` iff `g % numShard == shardId`. A file's data sectors occupy
 * `[start, start + dataSectors)` of the log, so only its first and last segments can be partial.
 * @dev Callers guarantee `numShard >= 1`, `shardId < numShard`, `dataSectors >= 1` and
 * `start + dataSectors < 2^64`, so no expression here overflows.
 */
library ShardLayout {
    /// @notice Sectors per segment (0G's unit of sharding).
    uint256 internal constant SECTORS_PER_SEGMENT = 1024;

    /// @notice How many of the file's data sectors lie in the shard's segments.
    function shardWeight(
        uint256 start,
        uint256 dataSectors,
        uint256 shardId,
        uint256 numShard
    ) internal pure returns (uint256) {
        uint256 end = start + dataSectors;
        uint256 lastSegment = (end - 1) / SECTORS_PER_SEGMENT;
        (uint256 first, , uint256 firstCount) = _firstSegment(start, end, shardId, numShard);
        if (first > lastSegment) return 0;
        // The shard's last segment at or before the file's last one.
        uint256 last = lastSegment - (((lastSegment % numShard) + numShard - shardId) % numShard);
        if (last == first) return firstCount;
        uint256 between = (last - first) / numShard - 1;
        uint256 lastCount = _min(end, (last + 1) * SECTORS_PER_SEGMENT) - last * SECTORS_PER_SEGMENT;
        return firstCount + between * SECTORS_PER_SEGMENT + lastCount;
    }

    /**
     * @notice The file-relative index of the shard's `k`-th data sector of the file (in log order).
     * @dev `k` must be below `shardWeight(start, dataSectors, shardId, numShard)`.
     */
    function fileIndexOf(
        uint256 start,
        uint256 dataSectors,
        uint256 shardId,
        uint256 numShard,
        uint256 k
    ) internal pure returns (uint256) {
        (uint256 delta, uint256 headOffset, uint256 firstCount) = placement(
            start,
            dataSectors,
            shardId,
            numShard
        );
        return fileIndexAt(numShard, delta, headOffset, firstCount, k);
    }

    /**
     * @notice What `fileIndexAt` needs to know of a file's place in the log, in 64 bits: `delta` (below
     * `numShard`), the segments from the file's first one to the shard's first one at or after it; `headOffset`
     * (below 1024), the file's start within its first segment; `firstCount` (at most 1024), how many file
     * sectors that shard segment holds (at least 1 when the shard's weight is not zero).
     */
    function placement(
        uint256 start,
        uint256 dataSectors,
        uint256 shardId,
        uint256 numShard
    ) internal pure returns (uint256 delta, uint256 headOffset, uint256 firstCount) {
        uint256 first;
        (first, , firstCount) = _firstSegment(start, start + dataSectors, shardId, numShard);
        delta = first - start / SECTORS_PER_SEGMENT;
        headOffset = start % SECTORS_PER_SEGMENT;
    }

    /**
     * @notice `fileIndexOf` from the file's `placement`: the shard's first segment holds the file-relative
     * sectors `[delta * 1024 - headOffset, +firstCount)` (from 0 when `delta` is 0); every later shard segment,
     * `numShard` segments on, starts full from its first sector.
     * @dev `k` must be below the shard's weight; then the result is below the file's data sectors.
     */
    function fileIndexAt(
        uint256 numShard,
        uint256 delta,
        uint256 headOffset,
        uint256 firstCount,
        uint256 k
    ) internal pure returns (uint256) {
        // unchecked: with `placement`'s bounds (numShard < 2^32, delta < numShard, headOffset < 1024) and k below
        // the weight (< 2^64) every term stays below 2^128; delta >= 1 in the first branch's subtraction, and
        // numShard * 1024 > headOffset in the second's.
        unchecked {
            if (k < firstCount) return delta == 0 ? k : delta * SECTORS_PER_SEGMENT - headOffset + k;
            uint256 rest = k - firstCount;
            // (first + (1 + rest / 1024) * numShard) * 1024 - start, with first * 1024 - start = delta * 1024 -
            // headOffset; non-negative as numShard * 1024 > headOffset.
            return
                (delta + (1 + rest / SECTORS_PER_SEGMENT) * numShard) * SECTORS_PER_SEGMENT +
                (rest % SECTORS_PER_SEGMENT) -
                headOffset;
        }
    }

    /// @dev The shard's first segment at or after the file's first one, where the file enters it and how many
    /// file sectors it holds (zero when it is past the file's end).
    function _firstSegment(
        uint256 start,
        uint256 end,
        uint256 shardId,
        uint256 numShard
    ) private pure returns (uint256 first, uint256 low, uint256 count) {
        uint256 startSegment = start / SECTORS_PER_SEGMENT;
        first = startSegment + ((shardId + numShard - (startSegment % numShard)) % numShard);
        uint256 segmentStart = first * SECTORS_PER_SEGMENT;
        low = segmentStart > start ? segmentStart : start;
        uint256 high = _min(end, segmentStart + SECTORS_PER_SEGMENT);
        count = high > low ? high - low : 0;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
