// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title GovernorCountingPacked
 * @notice GovernorCountingSimple's counting (Bravo support: 0 against, 1 for, 2 abstain; quorum counts for and
 * abstain; a proposal succeeds with more for than against votes) and the same views (`COUNTING_MODE`, `hasVoted`,
 * `proposalVotes`), with the three tallies packed in one slot that `propose` opens.
 * @dev Opening the slot at `propose` (a non-zero `opened` flag) moves the 0 → non-zero write of the first vote's
 * tally (≈ 17,000 gas) from the first voter to the proposer, so every vote costs the same. Tallies are `uint64`:
 * at most 2^64 - 1 votes per side (the license supply is far below), enforced by `SafeCast`.
 */
abstract contract GovernorCountingPacked is Governor {
    /// @dev One proposal's tallies: one slot.
    struct Tally {
        uint64 against;
        uint64 forVotes;
        uint64 abstain;
        bool opened;
    }

    mapping(uint256 proposalId => Tally) private _tallies;
    mapping(uint256 proposalId => mapping(address voter => bool)) private _voted;

    /// @inheritdoc IGovernor
    // solhint-disable-next-line func-name-mixedcase
    function COUNTING_MODE() public pure virtual override returns (string memory) {
        return "support=bravo&quorum=for,abstain";
    }

    /// @inheritdoc IGovernor
    function hasVoted(uint256 proposalId, address account) public view virtual override returns (bool) {
        return _voted[proposalId][account];
    }

    /// @notice A proposal's votes against, for and abstaining (GovernorCountingSimple's accessor).
    function proposalVotes(
        uint256 proposalId
    ) public view virtual returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes) {
        Tally memory tally = _tallies[proposalId];
        return (tally.against, tally.forVotes, tally.abstain);
    }

    /// @dev Opens the proposal's tally slot (see the contract's notes).
    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal virtual override returns (uint256 proposalId) {
        proposalId = super._propose(targets, values, calldatas, description, proposer);
        _tallies[proposalId].opened = true;
    }

    /// @inheritdoc Governor
    function _quorumReached(uint256 proposalId) internal view virtual override returns (bool) {
        Tally memory tally = _tallies[proposalId];
        return quorum(proposalSnapshot(proposalId)) <= uint256(tally.forVotes) + tally.abstain;
    }

    /// @inheritdoc Governor
    function _voteSucceeded(uint256 proposalId) internal view virtual override returns (bool) {
        Tally memory tally = _tallies[proposalId];
        return tally.forVotes > tally.against;
    }

    /// @inheritdoc Governor
    function _countVote(
        uint256 proposalId,
        address account,
        uint8 support,
        uint256 totalWeight,
        bytes memory // params
    ) internal virtual override returns (uint256) {
        mapping(address => bool) storage voted = _voted[proposalId];
        if (voted[account]) revert GovernorAlreadyCastVote(account);
        voted[account] = true;

        Tally storage tally = _tallies[proposalId];
        uint64 weight = SafeCast.toUint64(totalWeight);
        if (support == uint8(VoteType.Against)) tally.against += weight;
        else if (support == uint8(VoteType.For)) tally.forVotes += weight;
        else if (support == uint8(VoteType.Abstain)) tally.abstain += weight;
        else revert GovernorInvalidVoteType();
        return totalWeight;
    }

    /// @dev Bravo's support values.
    enum VoteType {
        Against,
        For,
        Abstain
    }
}
