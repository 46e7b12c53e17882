import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ModuleRegistry__factory } from "../../typechain-types";

const name = (s: string): string => ethers.encodeBytes32String(s);

const STORAGE = name("StorageFlow");
const DA = name("DASigner");
const ORACLE = name("Oracle");
const SLASHER = name("Slasher");
const EMPTY = ethers.ZeroHash;

async function deployRegistryFixture() {
  const [governance, newGovernance, stranger, moduleA, moduleB, moduleC] = await ethers.getSigners();
  const registry = await new ModuleRegistry__factory(governance).deploy(governance.address);
  await registry.waitForDeployment();
  return { registry, governance, newGovernance, stranger, moduleA, moduleB, moduleC };
}

/** The registry with moduleA under STORAGE (v1.0.0) and moduleB under DA (v2.0.0). */
async function populatedRegistryFixture() {
  const f = await deployRegistryFixture();
  await f.registry.setModule(STORAGE, f.moduleA.address, "1.0.0");
  await f.registry.setModule(DA, f.moduleB.address, "2.0.0");
  return f;
}

describe("ModuleRegistry", function () {
  describe("constructor", function () {
    it("constructor: sets the initial owner and no pending owner", async function () {
      const { registry, governance } = await loadFixture(deployRegistryFixture);
      expect(await registry.owner()).to.equal(governance.address);
      expect(await registry.pendingOwner()).to.equal(ethers.ZeroAddress);
      expect([...(await registry.moduleNames())]).to.deep.equal([]);
    });

    it("constructor: zero initial owner reverts OwnableInvalidOwner", async function () {
      const { registry, governance } = await loadFixture(deployRegistryFixture);
      await expect(new ModuleRegistry__factory(governance).deploy(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("setModule", function () {
    it("setModule: non-owner reverts OwnableUnauthorizedAccount", async function () {
      const { registry, stranger, moduleA } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(stranger).setModule(STORAGE, moduleA.address, "1.0.0"))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("setModule: non-owner is refused before any argument check", async function () {
      const { registry, stranger } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(stranger).setModule(EMPTY, ethers.ZeroAddress, ""))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("setModule: empty name reverts RegistryEmptyName", async function () {
      const { registry, moduleA } = await loadFixture(deployRegistryFixture);
      await expect(registry.setModule(EMPTY, moduleA.address, "1.0.0")).to.be.revertedWithCustomError(
        registry,
        "RegistryEmptyName",
      );
    });

    it("setModule: zero address reverts RegistryZeroAddress", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      await expect(registry.setModule(STORAGE, ethers.ZeroAddress, "1.0.0")).to.be.revertedWithCustomError(
        registry,
        "RegistryZeroAddress",
      );
    });

    it("setModule: empty version reverts RegistryEmptyVersion", async function () {
      const { registry, moduleA } = await loadFixture(deployRegistryFixture);
      await expect(registry.setModule(STORAGE, moduleA.address, "")).to.be.revertedWithCustomError(
        registry,
        "RegistryEmptyVersion",
      );
    });

    it("setModule: registers a new module and emits ModuleSet with previous zero", async function () {
      const { registry, moduleA } = await loadFixture(deployRegistryFixture);
      await expect(registry.setModule(STORAGE, moduleA.address, "1.0.0"))
        .to.emit(registry, "ModuleSet")
        .withArgs(STORAGE, moduleA.address, ethers.ZeroAddress, "1.0.0");
      expect(await registry.getModule(STORAGE)).to.equal(moduleA.address);
      expect(await registry.tryGetModule(STORAGE)).to.equal(moduleA.address);
      expect(await registry.moduleVersion(STORAGE)).to.equal("1.0.0");
      expect(await registry.nameOf(moduleA.address)).to.equal(STORAGE);
      expect([...(await registry.moduleNames())]).to.deep.equal([STORAGE]);
    });

    it("setModule: replacement moves the name to the new address and emits the previous one", async function () {
      const { registry, moduleA, moduleC } = await loadFixture(populatedRegistryFixture);
      await expect(registry.setModule(STORAGE, moduleC.address, "1.1.0"))
        .to.emit(registry, "ModuleSet")
        .withArgs(STORAGE, moduleC.address, moduleA.address, "1.1.0");
      expect(await registry.getModule(STORAGE)).to.equal(moduleC.address);
      expect(await registry.moduleVersion(STORAGE)).to.equal("1.1.0");
      expect(await registry.nameOf(moduleC.address)).to.equal(STORAGE);
      expect(await registry.nameOf(moduleA.address)).to.equal(EMPTY);
    });

    it("setModule: replacement does not duplicate the name in moduleNames", async function () {
      const { registry, moduleC } = await loadFixture(populatedRegistryFixture);
      await registry.setModule(STORAGE, moduleC.address, "1.1.0");
      const names = [...(await registry.moduleNames())];
      expect(names).to.have.lengthOf(2);
      expect(names).to.have.members([STORAGE, DA]);
    });

    it("setModule: the replaced address can then take another name", async function () {
      const { registry, moduleA, moduleC } = await loadFixture(populatedRegistryFixture);
      await registry.setModule(STORAGE, moduleC.address, "1.1.0");
      await expect(registry.setModule(ORACLE, moduleA.address, "0.1.0"))
        .to.emit(registry, "ModuleSet")
        .withArgs(ORACLE, moduleA.address, ethers.ZeroAddress, "0.1.0");
      expect(await registry.nameOf(moduleA.address)).to.equal(ORACLE);
      expect(await registry.getModule(STORAGE)).to.equal(moduleC.address);
    });

    it("setModule: same address under the same name updates the version", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await expect(registry.setModule(STORAGE, moduleA.address, "1.0.1"))
        .to.emit(registry, "ModuleSet")
        .withArgs(STORAGE, moduleA.address, moduleA.address, "1.0.1");
      expect(await registry.moduleVersion(STORAGE)).to.equal("1.0.1");
      expect(await registry.nameOf(moduleA.address)).to.equal(STORAGE);
      expect(await registry.getModule(STORAGE)).to.equal(moduleA.address);
      expect([...(await registry.moduleNames())]).to.have.members([STORAGE, DA]);
    });

    it("setModule: an address already registered under another name reverts RegistryAddressInUse", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await expect(registry.setModule(ORACLE, moduleA.address, "1.0.0"))
        .to.be.revertedWithCustomError(registry, "RegistryAddressInUse")
        .withArgs(moduleA.address, STORAGE);
      // Replacing an existing name with an address that holds another name is refused as well.
      await expect(registry.setModule(DA, moduleA.address, "1.0.0"))
        .to.be.revertedWithCustomError(registry, "RegistryAddressInUse")
        .withArgs(moduleA.address, STORAGE);
      expect(await registry.tryGetModule(ORACLE)).to.equal(ethers.ZeroAddress);
    });
  });

  describe("removeModule", function () {
    it("removeModule: non-owner reverts OwnableUnauthorizedAccount", async function () {
      const { registry, stranger } = await loadFixture(populatedRegistryFixture);
      await expect(registry.connect(stranger).removeModule(STORAGE))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("removeModule: unknown name reverts RegistryModuleNotFound", async function () {
      const { registry } = await loadFixture(populatedRegistryFixture);
      await expect(registry.removeModule(ORACLE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(ORACLE);
    });

    it("removeModule: removes the entry, frees the address and emits ModuleRemoved", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await expect(registry.removeModule(STORAGE))
        .to.emit(registry, "ModuleRemoved")
        .withArgs(STORAGE, moduleA.address);
      await expect(registry.getModule(STORAGE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(STORAGE);
      await expect(registry.moduleVersion(STORAGE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(STORAGE);
      expect(await registry.tryGetModule(STORAGE)).to.equal(ethers.ZeroAddress);
      expect(await registry.nameOf(moduleA.address)).to.equal(EMPTY);
      expect([...(await registry.moduleNames())]).to.deep.equal([DA]);
    });

    it("removeModule: removing twice reverts RegistryModuleNotFound", async function () {
      const { registry } = await loadFixture(populatedRegistryFixture);
      await registry.removeModule(STORAGE);
      await expect(registry.removeModule(STORAGE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(STORAGE);
    });

    it("removeModule: the freed address can be registered under another name", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await registry.removeModule(STORAGE);
      await registry.setModule(ORACLE, moduleA.address, "3.0.0");
      expect(await registry.nameOf(moduleA.address)).to.equal(ORACLE);
      expect([...(await registry.moduleNames())]).to.have.members([DA, ORACLE]);
    });

    it("removeModule: the removed name can be registered again", async function () {
      const { registry, moduleC } = await loadFixture(populatedRegistryFixture);
      await registry.removeModule(STORAGE);
      await expect(registry.setModule(STORAGE, moduleC.address, "2.0.0"))
        .to.emit(registry, "ModuleSet")
        .withArgs(STORAGE, moduleC.address, ethers.ZeroAddress, "2.0.0");
      expect(await registry.getModule(STORAGE)).to.equal(moduleC.address);
    });
  });

  describe("moduleNames", function () {
    it("moduleNames: follows additions and removals", async function () {
      const { registry, moduleA, moduleB, moduleC } = await loadFixture(deployRegistryFixture);
      expect([...(await registry.moduleNames())]).to.deep.equal([]);
      await registry.setModule(STORAGE, moduleA.address, "1");
      await registry.setModule(DA, moduleB.address, "1");
      await registry.setModule(ORACLE, moduleC.address, "1");
      expect([...(await registry.moduleNames())]).to.have.members([STORAGE, DA, ORACLE]);
      await registry.removeModule(DA);
      expect([...(await registry.moduleNames())]).to.have.members([STORAGE, ORACLE]);
      expect([...(await registry.moduleNames())]).to.have.lengthOf(2);
      await registry.removeModule(STORAGE);
      await registry.removeModule(ORACLE);
      expect([...(await registry.moduleNames())]).to.deep.equal([]);
    });
  });

  describe("getModule / tryGetModule / moduleVersion / nameOf", function () {
    it("getModule: absent name reverts RegistryModuleNotFound", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      await expect(registry.getModule(STORAGE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(STORAGE);
    });

    it("getModules: two modules in one call, in the order asked; the first absent name reverts", async function () {
      const { registry, moduleA, moduleB } = await loadFixture(populatedRegistryFixture);
      expect(await registry.getModules(STORAGE, DA)).to.deep.equal([moduleA.address, moduleB.address]);
      expect(await registry.getModules(DA, STORAGE)).to.deep.equal([moduleB.address, moduleA.address]);
      await expect(registry.getModules(ORACLE, STORAGE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(ORACLE);
      await expect(registry.getModules(STORAGE, SLASHER))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(SLASHER);
      await registry.removeModule(DA);
      await expect(registry.getModules(STORAGE, DA))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(DA);
    });

    it("tryGetModule: absent name returns zero", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      expect(await registry.tryGetModule(STORAGE)).to.equal(ethers.ZeroAddress);
    });

    it("moduleVersion: absent name reverts RegistryModuleNotFound", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      await expect(registry.moduleVersion(ORACLE))
        .to.be.revertedWithCustomError(registry, "RegistryModuleNotFound")
        .withArgs(ORACLE);
    });

    it("nameOf: returns the name of each module and zero for other addresses", async function () {
      const { registry, moduleA, moduleB, stranger } = await loadFixture(populatedRegistryFixture);
      expect(await registry.nameOf(moduleA.address)).to.equal(STORAGE);
      expect(await registry.nameOf(moduleB.address)).to.equal(DA);
      expect(await registry.nameOf(stranger.address)).to.equal(EMPTY);
      expect(await registry.nameOf(ethers.ZeroAddress)).to.equal(EMPTY);
    });
  });

  describe("setSlasher / slasherAllowed / isSlasher", function () {
    it("setSlasher: non-owner reverts OwnableUnauthorizedAccount", async function () {
      const { registry, stranger } = await loadFixture(populatedRegistryFixture);
      await expect(registry.connect(stranger).setSlasher(STORAGE, true))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("setSlasher: empty name reverts RegistryEmptyName", async function () {
      const { registry } = await loadFixture(populatedRegistryFixture);
      await expect(registry.setSlasher(EMPTY, true)).to.be.revertedWithCustomError(
        registry,
        "RegistryEmptyName",
      );
    });

    it("setSlasher: grants and revokes by name and emits SlasherSet", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      expect(await registry.slasherAllowed(STORAGE)).to.equal(false);
      expect(await registry.isSlasher(moduleA.address)).to.equal(false);

      await expect(registry.setSlasher(STORAGE, true))
        .to.emit(registry, "SlasherSet")
        .withArgs(STORAGE, true);
      expect(await registry.slasherAllowed(STORAGE)).to.equal(true);
      expect(await registry.isSlasher(moduleA.address)).to.equal(true);

      await expect(registry.setSlasher(STORAGE, false))
        .to.emit(registry, "SlasherSet")
        .withArgs(STORAGE, false);
      expect(await registry.slasherAllowed(STORAGE)).to.equal(false);
      expect(await registry.isSlasher(moduleA.address)).to.equal(false);
    });

    it("setSlasher: a name can hold the right before any module is deployed under it", async function () {
      const { registry, moduleC } = await loadFixture(populatedRegistryFixture);
      await expect(registry.setSlasher(SLASHER, true))
        .to.emit(registry, "SlasherSet")
        .withArgs(SLASHER, true);
      expect(await registry.slasherAllowed(SLASHER)).to.equal(true);
      expect(await registry.isSlasher(moduleC.address)).to.equal(false);
      await registry.setModule(SLASHER, moduleC.address, "1.0.0");
      expect(await registry.isSlasher(moduleC.address)).to.equal(true);
    });

    it("isSlasher: false for unregistered callers and the zero address", async function () {
      const { registry, stranger } = await loadFixture(populatedRegistryFixture);
      await registry.setSlasher(STORAGE, true);
      expect(await registry.isSlasher(stranger.address)).to.equal(false);
      expect(await registry.isSlasher(ethers.ZeroAddress)).to.equal(false);
    });

    it("isSlasher: false for a registered module whose name has no right", async function () {
      const { registry, moduleA, moduleB } = await loadFixture(populatedRegistryFixture);
      await registry.setSlasher(STORAGE, true);
      expect(await registry.isSlasher(moduleA.address)).to.equal(true);
      expect(await registry.isSlasher(moduleB.address)).to.equal(false);
    });

    it("isSlasher: replacement moves the right from the old address to the new one", async function () {
      const { registry, moduleA, moduleC } = await loadFixture(populatedRegistryFixture);
      await registry.setSlasher(STORAGE, true);
      await registry.setModule(STORAGE, moduleC.address, "1.1.0");
      expect(await registry.isSlasher(moduleA.address)).to.equal(false);
      expect(await registry.isSlasher(moduleC.address)).to.equal(true);
      expect(await registry.slasherAllowed(STORAGE)).to.equal(true);
    });

    it("isSlasher: removal takes the right from the address but the name keeps it", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await registry.setSlasher(STORAGE, true);
      await registry.removeModule(STORAGE);
      expect(await registry.isSlasher(moduleA.address)).to.equal(false);
      expect(await registry.slasherAllowed(STORAGE)).to.equal(true);
      // Registering the address again under the name gives it back.
      await registry.setModule(STORAGE, moduleA.address, "1.0.0");
      expect(await registry.isSlasher(moduleA.address)).to.equal(true);
    });

    it("isSlasher: an address moved to a name without the right loses it", async function () {
      const { registry, moduleA } = await loadFixture(populatedRegistryFixture);
      await registry.setSlasher(STORAGE, true);
      await registry.removeModule(STORAGE);
      await registry.setModule(ORACLE, moduleA.address, "1.0.0");
      expect(await registry.isSlasher(moduleA.address)).to.equal(false);
    });
  });

  describe("ownership (Ownable2Step)", function () {
    it("transferOwnership: non-owner reverts OwnableUnauthorizedAccount", async function () {
      const { registry, stranger } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(stranger).transferOwnership(stranger.address))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("transferOwnership: only sets the pending owner and emits OwnershipTransferStarted", async function () {
      const { registry, governance, newGovernance, moduleA } = await loadFixture(deployRegistryFixture);
      await expect(registry.transferOwnership(newGovernance.address))
        .to.emit(registry, "OwnershipTransferStarted")
        .withArgs(governance.address, newGovernance.address);
      expect(await registry.owner()).to.equal(governance.address);
      expect(await registry.pendingOwner()).to.equal(newGovernance.address);
      // The pending owner has no rights yet; the current owner keeps them.
      await expect(registry.connect(newGovernance).setModule(STORAGE, moduleA.address, "1"))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(newGovernance.address);
      await expect(registry.setModule(STORAGE, moduleA.address, "1")).to.emit(registry, "ModuleSet");
    });

    it("acceptOwnership: caller other than the pending owner reverts OwnableUnauthorizedAccount", async function () {
      const { registry, governance, newGovernance, stranger } = await loadFixture(deployRegistryFixture);
      await registry.transferOwnership(newGovernance.address);
      await expect(registry.connect(stranger).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(registry.connect(governance).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
    });

    it("acceptOwnership: the pending owner becomes owner and the old owner loses its rights", async function () {
      const { registry, governance, newGovernance, moduleA } = await loadFixture(deployRegistryFixture);
      await registry.transferOwnership(newGovernance.address);
      await expect(registry.connect(newGovernance).acceptOwnership())
        .to.emit(registry, "OwnershipTransferred")
        .withArgs(governance.address, newGovernance.address);
      expect(await registry.owner()).to.equal(newGovernance.address);
      expect(await registry.pendingOwner()).to.equal(ethers.ZeroAddress);
      await expect(registry.connect(governance).setModule(STORAGE, moduleA.address, "1"))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
      await expect(registry.connect(newGovernance).setModule(STORAGE, moduleA.address, "1"))
        .to.emit(registry, "ModuleSet")
        .withArgs(STORAGE, moduleA.address, ethers.ZeroAddress, "1");
    });

    it("transferOwnership: a second call replaces the pending owner, zero cancels", async function () {
      const { registry, newGovernance, stranger } = await loadFixture(deployRegistryFixture);
      await registry.transferOwnership(newGovernance.address);
      await registry.transferOwnership(stranger.address);
      expect(await registry.pendingOwner()).to.equal(stranger.address);
      await expect(registry.connect(newGovernance).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(newGovernance.address);
      await registry.transferOwnership(ethers.ZeroAddress);
      expect(await registry.pendingOwner()).to.equal(ethers.ZeroAddress);
      await expect(registry.connect(stranger).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("renounceOwnership: leaves no owner and every owner function reverts", async function () {
      const { registry, governance, moduleA } = await loadFixture(populatedRegistryFixture);
      await expect(registry.renounceOwnership())
        .to.emit(registry, "OwnershipTransferred")
        .withArgs(governance.address, ethers.ZeroAddress);
      expect(await registry.owner()).to.equal(ethers.ZeroAddress);
      await expect(registry.setModule(ORACLE, moduleA.address, "1"))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
      await expect(registry.removeModule(STORAGE))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
      await expect(registry.setSlasher(STORAGE, true))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(governance.address);
    });
  });
});
