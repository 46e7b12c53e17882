// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Levels of the flow tree's frontier: the log holds fewer than 2^64 sectors.
uint256 constant FLOW_TREE_LEVELS = 64;

/**
 * @title FlowTree
 * @notice The incremental keccak tree over the storage log's sectors, kept as a frontier: for every bit `i` set
 * in the log length `n`, `frontier[i]` is the root of the complete subtree of `2^i` sectors that starts at
 * `n` with its bits `0..i` cleared (the set bits, highest first, tile `[0, n)` left to right). Appending a subtree of height `h` at a
 * multiple of `2^h` merges it with the stored subtrees of the length's set bits from `h` upward, like a binary
 * counter, and stores one new root; the tree's root is folded from the frontier only when asked for.
 * @dev Parent = keccak256(left ‖ right). Empty sectors hash to `EMPTY_SECTOR` and an empty subtree of height
 * `k` to the keccak of two empty subtrees of height `k - 1`. A submission's work is done on an `Append` in memory
 * and written back once, so the frontier levels it passes through cost one storage read each and only the
 * levels set in the final length are written.
 */
library FlowTree {
    /// @notice keccak256 of 256 zero bytes: the leaf of an empty sector.
    bytes32 internal constant EMPTY_SECTOR =
        0xd397b3b043d87fcd6fad1291ff0bfd16401c274896d8c63a923727f077b8e0b5;

    /// @notice One submission's working copy of the frontier.
    /// @param length The log length so far, in sectors.
    /// @param dirty Bit `i` set: `cache[i]` holds a value for level `i` written during this append.
    /// @param cache New subtree roots, by level; an entry is only read when its `dirty` bit is set.
    struct Append {
        uint256 length;
        uint256 dirty;
        bytes32[] cache;
    }

    /// @notice Starts an append at the stored log length.
    function begin(uint256 length) internal pure returns (Append memory work) {
        work.length = length;
        bytes32[] memory cache;
        // Allocate the 64 entries without zeroing them: `dirty` guards every read.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            cache := mload(0x40)
            mstore(cache, FLOW_TREE_LEVELS)
            mstore(0x40, add(cache, mul(add(FLOW_TREE_LEVELS, 1), 0x20)))
        }
        work.cache = cache;
    }

    /**
     * @notice Appends the subtree `node` of height `height` at position `work.length`.
     * @dev The caller guarantees `work.length % 2^height == 0` and `work.length + 2^height < 2^64`, so the carry
     * stops below level 64.
     */
    function appendSubtree(
        Append memory work,
        bytes32[FLOW_TREE_LEVELS] storage frontier,
        bytes32 node,
        uint256 height
    ) internal view {
        uint256 length = work.length;
        uint256 level = height;
        // A set bit at `level` means a stored left sibling: merge with it and carry upward.
        while ((length >> level) & 1 == 1) {
            bytes32 left = (work.dirty >> level) & 1 == 1 ? work.cache[level] : frontier[level];
            node = hashPair(left, node);
            // unchecked: level < 64 because length + 2^height < 2^64 has a clear bit at or below 63.
            unchecked {
                ++level;
            }
        }
        work.cache[level] = node;
        work.dirty |= 1 << level;
        // unchecked: the caller bounds the sum below 2^64.
        unchecked {
            work.length = length + (1 << height);
        }
    }

    /**
     * @notice Pads the log with empty sectors up to `target`, as the largest aligned empty subtrees that fit.
     * @dev `target` must be below 2^64. Does nothing when the log already reaches `target`.
     */
    function padTo(
        Append memory work,
        bytes32[FLOW_TREE_LEVELS] storage frontier,
        uint256 target
    ) internal view {
        uint256 length = work.length;
        if (length >= target) return;
        // The largest block is below 2^(bit length of the gap); its empty-subtree hashes, computed once.
        uint256 gap = target - length;
        uint256 maxHeight = 0;
        while (gap >> (maxHeight + 1) != 0) {
            ++maxHeight;
        }
        bytes32[] memory zeros = new bytes32[](maxHeight + 1);
        zeros[0] = EMPTY_SECTOR;
        for (uint256 k = 1; k <= maxHeight; ++k) {
            zeros[k] = hashPair(zeros[k - 1], zeros[k - 1]);
        }
        while (length < target) {
            // Grow the block while the position stays aligned to it and it still fits before `target`.
            uint256 height = 0;
            while ((length >> height) & 1 == 0 && length + (2 << height) <= target) {
                ++height;
            }
            appendSubtree(work, frontier, zeros[height], height);
            length = work.length;
        }
    }

    /// @notice Writes the levels set in the final length that this append changed.
    function commit(Append memory work, bytes32[FLOW_TREE_LEVELS] storage frontier) internal {
        uint256 pending = work.dirty & work.length;
        for (uint256 level = 0; pending != 0; ++level) {
            if (pending & 1 == 1) frontier[level] = work.cache[level];
            pending >>= 1;
        }
    }

    /**
     * @notice The root of the log of `length` sectors: the tree of height `ceil(log2(length))` whose leaves past
     * the end are empty sectors.
     * @dev A view for other modules and off-chain readers: up to 64 storage reads and 64 hashes.
     */
    function root(
        bytes32[FLOW_TREE_LEVELS] storage frontier,
        uint256 length
    ) internal view returns (bytes32) {
        // A power-of-two length is one complete subtree, stored at its level.
        if (length & (length - 1) == 0) {
            uint256 top = 0;
            while (length >> (top + 1) != 0) {
                ++top;
            }
            return frontier[top];
        }
        // Climb from the first empty position: a set bit puts a stored subtree on the left,
        // a clear bit an empty subtree on the right.
        bytes32 node = EMPTY_SECTOR;
        bytes32 zero = EMPTY_SECTOR;
        for (uint256 level = 0; length >> level != 0; ++level) {
            node = (length >> level) & 1 == 1 ? hashPair(frontier[level], node) : hashPair(node, zero);
            zero = hashPair(zero, zero);
        }
        return node;
    }

    /// @notice keccak256(left ‖ right), in scratch space.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 parent) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            parent := keccak256(0x00, 0x40)
        }
    }
}
