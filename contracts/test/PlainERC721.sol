// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/**
 * @title PlainERC721
 * @notice A bare OpenZeppelin ERC-721 with an open `mint`: the baseline that the iNFT gas benchmark measures a
 * plain `transferFrom` on, next to `AgentNFT.iTransferFrom`.
 * @dev For tests and benchmarks only: anyone can mint any id.
 */
contract PlainERC721 is ERC721 {
    constructor() ERC721("Plain ERC-721", "PLAIN") {}

    /// @notice Mints token `tokenId` to `to`.
    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
